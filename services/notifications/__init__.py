"""Notifications: Dramatiq actors that render and send the participant mails.

How the worker runs (the dev stack, docker-compose.yml and the mail benchmark use
these; a test keeps docker-compose.yml in step): several processes with two
threads each rather than one process with many, since the threads of a process
share one interpreter lock and mostly wait for it when mails are rendered.
Measured on 2 cores, 4 x 2 sent about a third more mails per second than 2 x 8.
"""

WORKER_PROCESSES = 4
WORKER_THREADS = 2


def worker_command(python: list[str], processes: int = WORKER_PROCESSES, threads: int = WORKER_THREADS) -> list[str]:
    """The worker's command line, after ``python`` (e.g. ``[sys.executable, "-m"]``)."""
    return [*python, "dramatiq", "services.notifications.worker", "--processes", str(processes),
            "--threads", str(threads)]
