"""LightFM hybrid recommender: features, training, evaluation, registry and serving.

Pure modules (no Django): ``features``, ``training``, ``evaluation``, ``datasets``, ``ranking``.
Django side: ``models`` (ModelVersion registry), ``services`` (train, update, activate),
``selectors``, ``tasks`` (Celery, ``default`` queue), ``serving`` (in-process model cache).
"""
