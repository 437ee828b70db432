"""WSGI entry point: ``gunicorn -w 4 wsgi:app``; also what ``flask run`` loads (FLASK_APP=wsgi).

Under ``make run`` (single process, ``flask run --no-reload``) the late-case scan runs in an
in-process scheduler guarded by a file lock; under gunicorn it never starts here: a deployment
runs ``flask deadlines run-scheduler`` as its one scheduler process.
"""
from deadlines.scheduler import maybe_start_in_process
from tthc import create_app

app = create_app()
maybe_start_in_process(app)
