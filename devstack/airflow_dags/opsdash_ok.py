"""opsdash_ok: two quick Bash tasks that succeed.

The second prints Rich markup and terminal escape sequences, which opsdash
must show as literal text; the first echoes the run's conf (untrusted too).
Copied into a test Airflow's dags folder by devstack/airflow_server.py.
"""

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

MARKUP_LINE = "[bold red]not markup[/]"
# printf format: colour, clear screen, window title and bell; a log viewer must not obey them.
ESCAPES = r"color:\033[31mred\033[0m:clear:\033[2J:title:\033]0;pwned\007:bell:\007:done\n"

with DAG(
    dag_id="opsdash_ok",
    description="two quick tasks that succeed",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["opsdash"],
    default_args={"owner": "opsdash", "retries": 0},
):
    say_hi = BashOperator(
        task_id="say_hi",
        bash_command='echo hi; echo "conf: $RUN_CONF"',
        env={"RUN_CONF": "{{ dag_run.conf | tojson }}"},
        append_env=True,
    )
    tricky = BashOperator(
        task_id="tricky_output",
        bash_command=f"echo '{MARKUP_LINE}'; printf '{ESCAPES}'",
    )
    say_hi >> tricky
