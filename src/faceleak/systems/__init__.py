"""The systems faceleak measures, one subpackage each.

System ``X`` is: ``stages/X_*.py`` (its DVC stages' thin scripts), ``src/faceleak/systems/X/`` (``steps.py``:
what its stages call; ``params.py``: its params schema; ``report.py``: its results page; ``pipeline.yaml``: its
stages, assembled into ``dvc.yaml``), the ``X:`` section of ``params.yaml`` and the ``X_*`` stages. The layers under the systems serve
them all: ``data``, ``models``, ``metrics``, ``training``, ``attacks``, ``defenses``, ``io``, ``params``
(infrastructure and shared keys), ``device``, ``stage``, ``plots`` and ``report``.
"""
