"""Tandem's reporting service: read models of every service's events, reports and dashboards."""
