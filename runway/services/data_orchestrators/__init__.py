"""Data orchestrators (ADR-006 layer 0): pull data from domains/ and keep per-business state in the database.

Each class is named [Experience]DataOrchestrator, holds no instance state, and scopes every query by
business_id. They build the frozen snapshots the calculators read.
"""
