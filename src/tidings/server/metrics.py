"""Prometheus metrics, one registry per app so several apps can live in one process.

Two kinds: series the code counts as things happen (HTTP, WebSocket, bus, moderation
decisions, webhook deliveries), and trust-and-safety gauges read from the database when
``/metrics`` is scraped (``server/ops_metrics.py``), so every process reports the same
queue and the same legal clocks whoever handled the work.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from tidings.server.ops_metrics import OpsMetrics
from tidings.services.moderation import Decision, Verdict


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_* (CPU, memory, open fds, start time), python_info and python_gc_*:
        # the default registry has them; a per-app registry has to ask.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter("tidings_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("tidings_http_request_seconds", "HTTP request latency",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
        self.ws_connections = Gauge("tidings_ws_connections", "Open WebSocket connections",
                                    registry=self.registry)
        self.ws_send_queue = Gauge("tidings_ws_send_queue_frames",
                                   "Frames waiting in WebSocket send queues",
                                   registry=self.registry)
        self.ws_slow_closed = Counter("tidings_ws_slow_consumer_closed_total",
                                      "Connections closed for not keeping up",
                                      registry=self.registry)
        self.stream_backlog = Gauge("tidings_stream_backlog_events",
                                    "Undelivered or unacknowledged device events in the store",
                                    registry=self.registry)
        self.events_delivered = Counter("tidings_ws_events_sent_total",
                                        "Stream events sent over WebSockets",
                                        registry=self.registry)
        self.messages_sent = Counter("tidings_messages_sent_total",
                                     "Private messages stored, by the path they came in on "
                                     "(http: POST /api/v1/messages; websocket: send frames)",
                                     ["path"], registry=self.registry)
        self.bus_dropped = Counter("tidings_bus_publish_dropped_total",
                                   "Bus messages not sent to other processes (Redis down)",
                                   registry=self.registry)
        self.bus_reconnects = Counter("tidings_bus_reconnects_total",
                                      "Reconnections of the Redis pub/sub connection",
                                      registry=self.registry)
        self.decisions = Counter("tidings_moderation_decisions_total",
                                 "Moderation checks by surface and verdict (this process)",
                                 ["surface", "verdict"], registry=self.registry)
        self.matches = Counter("tidings_moderation_matches_total",
                               "Bank matches cited by a decision, by bank and signal type",
                               ["bank", "signal_type", "surface"], registry=self.registry)
        self.rejections = Counter("tidings_moderation_rejections_total",
                                  "Rejected content by the bank and signal type that matched",
                                  ["bank", "signal_type"], registry=self.registry)
        self.suppressed = Counter("tidings_moderation_suppressed_total",
                                  "Matches an allow-list (negative bank) entry suppressed, by "
                                  "the bank that matched and the negative bank",
                                  ["bank", "negative_bank"], registry=self.registry)
        self.webhook_deliveries = Counter("tidings_webhook_deliveries_total",
                                          "Webhook delivery attempts by event and result",
                                          ["event", "result"], registry=self.registry)
        self.ops = OpsMetrics(self.registry)

    def observe_decision(self, decision: Decision) -> None:
        """Count one moderation decision (passed to the moderation service)."""
        surface = str(decision.surface)
        self.decisions.labels(surface, str(decision.verdict)).inc()
        for reason in decision.reasons:
            self.matches.labels(reason.bank, reason.signal_type, surface).inc()
            if decision.verdict is Verdict.REJECT:
                self.rejections.labels(reason.bank, reason.signal_type).inc()
        for s in decision.suppressed:
            self.suppressed.labels(s.match.bank, s.by.bank).inc()
