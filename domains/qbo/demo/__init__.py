"""Domain (QBO demo): deterministic demo companies written as QBO's own JSON, for the sandbox and the demo.

    companies = demo_companies(today)            # the demo firm's four clients and the owner's cafe
    realm_id = await seed_demo_company(sandbox.storage, companies[0])
    big = generate_large_company(50_000, today=today)   # for benchmarks

Every date is counted back from `today`, so the runways keep their story whenever the demo runs:
healthy (green), tight (amber), in_trouble (red) and messy (every hygiene rule of PRODUCT §4 fires).
"""

from domains.qbo.demo.companies import (
    DEMO_PROFILES,
    DemoCompany,
    demo_companies,
    generate_company,
    generate_large_company,
    seed_demo_company,
)
from domains.qbo.demo.profiles import PROFILES

__all__ = [
    "DEMO_PROFILES",
    "PROFILES",
    "DemoCompany",
    "demo_companies",
    "generate_company",
    "generate_large_company",
    "seed_demo_company",
]
