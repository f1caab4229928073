"""Domains: CRUD primitives over the database, and the QBO integration.

Every query of business data takes a business_id.
"""
