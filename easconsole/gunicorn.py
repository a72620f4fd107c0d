"""Gunicorn's configuration for the console's production web process (docs/deployment.md).

    gunicorn -c python:easconsole.gunicorn easconsole.wsgi

Every value can be changed from the environment without editing this file.
"""
import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Two processes per core, plus one, as gunicorn advises, with two threads each: a page waits on PostgreSQL for
# about a quarter of its time, and the second thread keeps the CPU busy meanwhile. Measured on 2 CPUs with
# PostgreSQL beside it (docs/deployment.md, "20 operators at once"): 5 x 2 served the device list at 48-60
# requests/s; 5 x 4, 56; 3 x 2, 39; 2 x 4, 43; sync workers (2, 3 or 4 x 1), 34-41, at about the same CPU per request.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Longer than the slowest page (a CSV export of 100,000 devices streams in under a minute); a
# request stuck longer than this has its process replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# A process is replaced after this many requests (with jitter, so they do not all restart together):
# memory a long-running process gathers is given back.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
# The application is loaded once before forking: processes share its memory and a broken
# configuration stops the server at once instead of in every process.
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# The access log names the request and its duration in microseconds (%(D)s); no query strings of
# sign-in forms are ever in a URL, and no cookies or headers are logged.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus'
# Behind a TLS-terminating proxy on another machine, list its address (FORWARDED_ALLOW_IPS).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR (docs/deployment.md), forget the figures of a process that ended."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def pre_fork(server, worker):
    """The application was loaded before forking (preload_app): its objects live as long as the server, so the
    garbage collector is told to leave them alone (``gc.freeze``). A process then does not walk them in its full
    collections, nor write to their pages, which stay shared with the other processes instead of being copied."""
    gc.freeze()
