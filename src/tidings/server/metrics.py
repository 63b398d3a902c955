"""Prometheus metrics, one registry per app so several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
        self.bus_dropped = Counter("tidings_bus_publish_dropped_total",
                                   "Bus messages not sent to other processes (Redis down)",
                                   registry=self.registry)
        self.bus_reconnects = Counter("tidings_bus_reconnects_total",
                                      "Reconnections of the Redis pub/sub connection",
                                      registry=self.registry)
