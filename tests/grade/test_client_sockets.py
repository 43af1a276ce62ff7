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
