"""opsdash_tfx: shaped like a TFX pipeline run by Airflow.

The task ids are TFX component ids, in TFX order. Evaluator pushes the XCom
"blessing" (BLESSED, or NOT_BLESSED when the run's conf has "bless": false);
Pusher is skipped when the model is not blessed. No TFX is installed: each
component only prints a line, so a run takes seconds.
"""

from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowSkipException

COMPONENTS = (
    "CsvExampleGen",
    "StatisticsGen",
    "SchemaGen",
    "Transform",
    "Trainer",
    "Evaluator",
    "InfraValidator",
    "Pusher",
)


def _blessed(conf) -> bool:
    """conf "bless" decides: true by default; false, "false", "no", "0" or "" say no."""
    value = (conf or {}).get("bless", True)
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "0", "")
    return bool(value)


def component(name: str, **context) -> None:
    print(f"{name}: done (conf keys: {sorted(context['dag_run'].conf or {})})")


def evaluator(**context) -> str:
    blessing = "BLESSED" if _blessed(context["dag_run"].conf) else "NOT_BLESSED"
    context["ti"].xcom_push(key="blessing", value=blessing)
    print(f"Evaluator: model {blessing}")
    return blessing


def pusher(**context) -> None:
    blessing = context["ti"].xcom_pull(task_ids="Evaluator", key="blessing")
    if blessing != "BLESSED":
        raise AirflowSkipException(f"model not blessed ({blessing}): nothing pushed")
    print("Pusher: model pushed to serving")


with DAG(
    dag_id="opsdash_tfx",
    description="a TFX-shaped training pipeline",
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    tags=["opsdash", "tfx"],
    default_args={"owner": "ml-team", "retries": 0},
):
    previous = None
    for name in COMPONENTS:
        if name == "Evaluator":
            task = PythonOperator(task_id=name, python_callable=evaluator)
        elif name == "Pusher":
            task = PythonOperator(task_id=name, python_callable=pusher)
        else:
            task = PythonOperator(task_id=name, python_callable=component, op_args=[name])
        if previous is not None:
            previous >> task
        previous = task
