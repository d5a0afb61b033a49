"""``vigil eval``: run a profile over a labelled set of clips and score it event by event.

``datasets`` finds the clips and their ground truth (one reader per layout), ``runner`` runs
:class:`~vigil.app.App` on each clip in-process and collects incidents and per-frame scores,
``matching`` turns those into event-level metrics, ``report`` writes the table, JSON, markdown
and plots.
"""
