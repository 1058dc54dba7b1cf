"""The dashboard: the server's pages for people, served by the app itself. Six pages under /dashboard/
(pages), the try-it form at / (try_it), the JSON endpoints they draw from (endpoints), the readers
behind those (traffic: the prediction log's charts; registry: the tracking store; system: the host;
system_api, request_rates and alerts: the System page's requests, errors and alerts),
and the templates and static files of all of them.

Only the app factory imports this package (an import contract in pyproject.toml): nothing else in the
server depends on a page.
"""

from __future__ import annotations

from serve.dashboard import endpoints, pages, system_api, try_it
from serve.dashboard.alerts import Alerts
from serve.dashboard.registry import PipelineRun, RegistryModels, TrainingLoss
from serve.dashboard.request_rates import RequestFigures
from serve.dashboard.system import SystemStatus
from serve.dashboard.system_api import RecentErrors
from serve.dashboard.traffic import AccuracyOverTime, LiveSummary
from serve.history import LoggedPrediction
from serve.openapi import Room

ROOM = Room(
    blueprints=(pages.blueprint, try_it.blueprint, endpoints.blueprint, system_api.blueprint),
    paths={**endpoints.PATHS, **system_api.PATHS},
    schemas=(
        AccuracyOverTime,
        Alerts,
        LiveSummary,
        LoggedPrediction,
        PipelineRun,
        RecentErrors,
        RegistryModels,
        RequestFigures,
        SystemStatus,
        TrainingLoss,
    ),
    undocumented={
        "/": "the try-it form, an HTML page",
        "/dashboard/": "a redirect to the Live page",
        "/dashboard/<name>": "the dashboard's HTML pages",
        "/dashboard/plotly.min.js": "plotly.js, from the installed package",
        "/dashboard/static/<path:filename>": "the pages' scripts and style sheet",
    },
)
