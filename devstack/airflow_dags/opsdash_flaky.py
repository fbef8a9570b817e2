"""opsdash_flaky: its one task fails on its first try and succeeds once cleared.

Clearing a run starts the task's next try (try_number 2), so a test can clear
a failed run from opsdash and watch it succeed, and read both tries' logs.
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

with DAG(
    dag_id="opsdash_flaky",
    description="fails on the first try, succeeds when cleared",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["opsdash"],
    default_args={"owner": "opsdash", "retries": 0},
):
    BashOperator(
        task_id="flaky",
        bash_command=(
            'if [ "{{ ti.try_number }}" -le 1 ]; then echo "try {{ ti.try_number }} fails";'
            ' exit 1; fi; echo "try {{ ti.try_number }} succeeds"'
        ),
    )
