"""The DORA keys, from the events opsdash records to the Deployments panel.

One job per module, in the order the data flows:

- watcher.py: routes each successful poll's snapshot, by its type, to the
  watcher that turns it into deployment events and health issues in the store:
  ci_events.py (CI sources' deployments), docker_events.py (containers and
  Swarm services), model_events.py (serving aliases, metric breaches); seen.py
  is what they share (the store's memory of versions seen, opsdash's own
  actions, opening and closing issues).
- source.py: DoraSource, polled like any source, reads the store (and git) and
  builds the panel's DeploymentsSnapshot (opsdash.model.deployments);
  sightings.py counts one change seen by several sources once.
- The keys, pure functions over records.py: failures.py (change failure rate,
  recovery time), lead_time.py, frequency.py (deploys per day, week, month),
  levels.py (the DORA 2024 bands), keys.py (the four over a window).

Nothing here imports textual. The package itself imports nothing, so
`opsdash.model` can use the records without loading the watchers.
"""
