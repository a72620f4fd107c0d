"""Gunicorn's configuration for the console's production web process (docs/deployment.md).

    gunicorn -c python:easconsole.gunicorn easconsole.wsgi

Every value can be changed from the environment without editing this file.
"""
import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Four single-threaded ("sync") processes per CPU: a process takes the next request only when it is free,
# so with 20 operators at once no request queues behind a busy process while another idles, and a page
# that waits on PostgreSQL (a quarter of its time) leaves the CPU to the others. Measured on 2 CPUs with
# PostgreSQL beside it (docs/deployment.md, "20 operators at once"), device list alone, back to back:
# 8 x 1, 64 and 62 requests/s, p95 367 and 380 ms; 5 x 2 threads, 66 and 65 requests/s, p95 520 and 469
# ms (a kept-alive connection stays on the process that accepted it, busy or not). Sync processes keep
# no connection open between requests: the TLS-terminating proxy in front buffers slow clients.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 4))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
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
