"""A DAG file that fails on import, so the server lists an import error.

(Airflow parses only files that mention both "airflow" and "dag".)
"""

from airflow.sdk import DAG  # noqa: F401

raise RuntimeError("opsdash test: this DAG file fails on import")
