"""opsdash_fails: the first task succeeds, the second fails (no retries)."""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="opsdash_fails",
    description="the second task fails",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["opsdash"],
    default_args={"owner": "opsdash", "retries": 0},
):
    prepare = BashOperator(task_id="prepare", bash_command="echo preparing")
    fail = BashOperator(task_id="fail", bash_command="echo failing; exit 1")
    prepare >> fail
