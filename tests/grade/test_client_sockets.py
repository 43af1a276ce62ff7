"""The kernel client's sockets have their start-up option when they connect (ZeroMQ copies a socket's
options into a connection at connect: one set afterwards does not apply to it)."""
import zmq

from autograder.grade.execute import _bounded_client_class


def test_the_client_retries_its_connection_every_10_ms(tmp_path):
    client = _bounded_client_class()(transport="ipc", ip=str(tmp_path / "s"), shell_port=1, iopub_port=2)
    for channel in ("shell", "iopub"):
        socket = client._create_connected_socket(channel)
        try:
            assert socket.getsockopt(zmq.RECONNECT_IVL) == 10
        finally:
            socket.close(0)


def test_the_client_waits_for_ready_with_its_own_method():
    """jupyter_client's waits 0.2 s for IOPub to fall silent (a third of a forked kernel's run); the
    override is only called if ``wait_for_ready`` names it, as AsyncKernelClient binds the name to
    KernelClient's function."""
    client = _bounded_client_class()
    assert client.wait_for_ready is client._async_wait_for_ready
    assert client.__dict__["_async_wait_for_ready"].__qualname__.startswith("_bounded_client_class")
