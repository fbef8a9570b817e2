"""opsdash_slow: a task that sleeps about 20 s, so a test can catch the run
running (to cancel it, mark it, or watch it finish)."""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="opsdash_slow",
    description="sleeps 20 s",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["opsdash"],
    default_args={"owner": "opsdash", "retries": 0},
):
    start = BashOperator(task_id="start", bash_command="echo starting")
    sleep = BashOperator(task_id="sleep", bash_command="echo sleeping; sleep 20; echo woke")
    start >> sleep
