"""ForkedKernel, the Popen-like handle of a kernel forked from a template: a kill is seen at once."""
import os
import signal
import subprocess

from autograder.grade.kernel_template import ForkedKernel


def test_a_killed_kernel_is_dead_when_the_kill_returns():
    """jupyter_client sleeps 0.1 s between polls of a kernel it killed that still looks alive."""
    process = subprocess.Popen(["sleep", "60"])
    try:
        kernel = ForkedKernel(os.pidfd_open(process.pid))
        assert kernel.pid == process.pid and kernel.poll() is None
        kernel.send_signal(signal.SIGKILL)
        assert kernel.poll() is not None
    finally:
        process.kill()
        process.wait()


def test_other_signals_do_not_wait():
    process = subprocess.Popen(["sleep", "60"])
    try:
        kernel = ForkedKernel(os.pidfd_open(process.pid))
        kernel.send_signal(signal.SIGSTOP)
        assert kernel.poll() is None
    finally:
        process.kill()
        process.wait()
