"""Domain (QBO demo): the five demo businesses — four clients of the demo firm and one owner-run cafe.

Amounts are cents. The numbers are set so that each runway (PRODUCT §3) lands where its story says:
the bakery keeps more than it spends, the design studio has five to eight weeks left, the fabrication
shop runs dry within about three weeks, the landscaper's books are a mess and the cafe ticks along.
"""

from __future__ import annotations

from domains.qbo.demo.book import CHECKING, SBA_LOAN, UNCATEGORIZED
from domains.qbo.demo.specs import (
    BillStream,
    Cadence,
    CreditMemoSpec,
    CustomerSpec,
    InvoiceStream,
    ItemSpec,
    Loan,
    Place,
    Profile,
    Refund,
    SaleLine,
    SalesStream,
    SpendStream,
    VendorCreditSpec,
    VendorSpec,
)

MON, TUE, WED, THU, FRI, SAT = range(6)

NET15 = "Net 15"
NET30 = "Net 30"
ON_RECEIPT = "Due on receipt"
EARLY_PAY = "2% 10 Net 30"
NEXT_15TH = "15th of next month"

VISA = "Visa Business Card"
AMEX = "Amex Business Card"


def _monthly(lag: int, **kw: int) -> Cadence:
    return Cadence(every=30, lag=lag, **kw)


HEALTHY = Profile(
    key="healthy",
    name="Maple Street Bakery",
    legal_name="Maple Street Bakery LLC",
    place=Place("1418 Maple Street", "Sacramento", "CA", "95816", "916"),
    web="maplestreetbakery.example",
    started=(7, 3),
    checking_cents=6_150_000,
    savings_cents=4_200_000,
    card_account=VISA,
    card_issuer="Chase Card Services",
    income_accounts=("Retail Sales", "Wholesale Sales", "Catering Sales"),
    items=(
        ItemSpec("Wholesale Bread", 425, "Wholesale Sales", "Artisan loaves, wholesale", "NonInventory"),
        ItemSpec("Pastry Tray", 3800, "Wholesale Sales", "Assorted pastry tray (24 pieces)", "NonInventory"),
        ItemSpec("Catering Order", 2500, "Catering Sales", "Catering, per dozen"),
        ItemSpec("Counter Sales", 100, "Retail Sales", "Counter sales summary"),
    ),
    vendors=(
        VendorSpec("Golden Grain Flour Mill", NET30, account_number="MSB-2231"),
        VendorSpec("Valley Dairy Co-op", NET15, account_number="4410-77"),
        VendorSpec("Sunrise Produce", NET15),
        VendorSpec("Bayside Packaging Supply", EARLY_PAY),
        VendorSpec("Hobart Equipment Service", NET30),
        VendorSpec("Capitol Insurance Group", NEXT_15TH),
        VendorSpec("Old Town Sugar Co.", NET30, active=False),
        VendorSpec("Gusto"),
        VendorSpec("Maple Street Properties LLC"),
        VendorSpec("Pacific Gas & Electric"),
        VendorSpec("City of Sacramento Utilities"),
        VendorSpec("Comcast Business"),
        VendorSpec("Dana Whitfield"),
        VendorSpec("Chase Card Services"),
        VendorSpec("Restaurant Depot"),
        VendorSpec("Google Workspace"),
        VendorSpec("Meta Ads"),
        VendorSpec("Amazon Business"),
    ),
    customers=(
        CustomerSpec("Harbor Coffee Roasters", NET15),
        CustomerSpec("Greenleaf Market", NET30),
        CustomerSpec("Elm Street Deli", ON_RECEIPT),
        CustomerSpec("Riverside Catering Co.", NET30),
        CustomerSpec("Copper Kettle Cafe", NET15),
        CustomerSpec("Sunset Grocery", NET30, active=False),
        CustomerSpec("Walk-in Customers", email=False),
    ),
    bills=(
        BillStream(
            "Golden Grain Flour Mill",
            Cadence(14, weekday=TUE),
            (220_000, 300_000),
            ("Ingredients",),
            "Flour and grains",
            (0, 3),
        ),
        BillStream(
            "Valley Dairy Co-op",
            Cadence(14, weekday=FRI),
            (104_000, 150_000),
            ("Ingredients",),
            "Butter, cream and milk",
            (-1, 2),
        ),
        BillStream(
            "Sunrise Produce", Cadence(28, weekday=WED), (96_000, 168_000), ("Ingredients",), "Fruit", (0, 2)
        ),
        BillStream(
            "Bayside Packaging Supply",
            Cadence(28, lag=6),
            (60_000, 90_000),
            ("Packaging",),
            "Boxes, bags and labels",
            (-22, -20),
            on_pay_run=False,
        ),
        BillStream(
            "Hobart Equipment Service",
            Cadence(56, lag=20),
            (38_000, 90_000),
            ("Repairs & Maintenance",),
            "Oven and mixer service",
            (0, 4),
            card=VISA,
        ),
        BillStream(
            "Capitol Insurance Group",
            _monthly(12),
            (61_200, 61_200),
            ("Insurance",),
            "Business owner's policy, monthly premium",
        ),
        BillStream(
            "Old Town Sugar Co.",
            Cadence(14, lag=3, last_ago=150),
            (30_000, 50_000),
            ("Ingredients",),
            "Sugar and sweeteners",
        ),
    ),
    spending=(
        SpendStream(
            "Gusto", Cadence(14, weekday=FRI), (1_040_000, 1_120_000), "Payroll Expenses", CHECKING, "Payroll"
        ),
        SpendStream(
            "Maple Street Properties LLC",
            _monthly(3),
            (550_000, 550_000),
            "Rent or Lease",
            CHECKING,
            "Rent",
            check=True,
        ),
        SpendStream(
            "Pacific Gas & Electric",
            _monthly(9),
            (95_000, 135_000),
            "Utilities",
            CHECKING,
            "Gas and electric",
        ),
        SpendStream(
            "City of Sacramento Utilities",
            _monthly(16),
            (21_000, 29_000),
            "Utilities",
            CHECKING,
            "Water and sewer",
        ),
        SpendStream(
            "Comcast Business", _monthly(20), (18_999, 18_999), "Utilities", CHECKING, "Internet and phone"
        ),
        SpendStream(
            "Dana Whitfield", _monthly(1), (480_000, 480_000), "Owner's Draw", CHECKING, "Owner's draw"
        ),
        SpendStream(
            "Restaurant Depot",
            Cadence(14, weekday=SAT),
            (28_000, 76_000),
            "Supplies",
            VISA,
            "Kitchen supplies",
        ),
        SpendStream(
            "Google Workspace", _monthly(5), (7_200, 7_200), "Software & Subscriptions", VISA, "Workspace"
        ),
        SpendStream("Meta Ads", _monthly(11), (25_000, 35_000), "Advertising", VISA, "Instagram promotion"),
        SpendStream(
            "Amazon Business", Cadence(28, lag=4), (9_000, 42_000), "Office Supplies", VISA, "Office supplies"
        ),
    ),
    invoices=(
        InvoiceStream(
            "Harbor Coffee Roasters",
            Cadence(14, weekday=MON),
            (SaleLine("Wholesale Bread", (240, 360)), SaleLine("Pastry Tray", (4, 8))),
            (-1, 2),
            "bank",
        ),
        InvoiceStream(
            "Greenleaf Market",
            Cadence(28, weekday=TUE),
            (SaleLine("Wholesale Bread", (600, 840)),),
            (4, 12),
            "uf",
        ),
        InvoiceStream(
            "Elm Street Deli",
            Cadence(28, weekday=WED),
            (SaleLine("Wholesale Bread", (120, 200)),),
            (3, 9),
            "uf",
        ),
        InvoiceStream(
            "Riverside Catering Co.",
            Cadence(28, lag=8),
            (SaleLine("Catering Order", (20, 40)), SaleLine("Pastry Tray", (4, 8))),
            (15, 28),
            "bank",
        ),
        InvoiceStream(
            "Copper Kettle Cafe",
            Cadence(14, weekday=THU),
            (SaleLine("Pastry Tray", (3, 5)), SaleLine("Wholesale Bread", (40, 60))),
            (0, 4),
            "bank",
        ),
        InvoiceStream(
            "Sunset Grocery",
            Cadence(28, lag=5, last_ago=200),
            (SaleLine("Wholesale Bread", (150, 220)),),
            (5, 10),
            "uf",
        ),
    ),
    sales=(
        SalesStream(
            "Walk-in Customers",
            Cadence(7, weekday=MON),
            (SaleLine("Counter Sales", (1, 1), (840_000, 960_000)),),
            "bank",
            "Square payout",
        ),
        SalesStream(
            "Walk-in Customers",
            Cadence(14, weekday=SAT),
            (SaleLine("Counter Sales", (1, 1), (140_000, 200_000)),),
            "uf",
            "Cash sales, two weeks",
        ),
    ),
    refund=Refund("Amazon Business", 45, 6_499, "Office Supplies", VISA, "Returned label printer"),
    vendor_credit=VendorCreditSpec(
        "Valley Dairy Co-op", 20, 8_640, "Ingredients", "Credit for spoiled cream delivery"
    ),
    credit_memo=CreditMemoSpec("Greenleaf Market", 33, "Wholesale Bread", 24, 425),
    pay_run_weekday=THU,
    deposit_weekdays=(MON,),
    card_payoff=_monthly(14),
    interest_cents=(8_500, 11_000),
    employees=(
        ("Rosa", "Delgado", True),
        ("Marcus", "Bell", True),
        ("Priya", "Raman", True),
        ("Tom", "Hargrove", False),
    ),
)


TIGHT = Profile(
    key="tight",
    name="Tidewater Design Studio",
    legal_name="Tidewater Design Studio Inc.",
    place=Place("212 Pacific Avenue, Suite 4", "Santa Cruz", "CA", "95060", "831"),
    web="tidewaterdesign.example",
    started=(5, 9),
    checking_cents=2_600_000,
    card_account=AMEX,
    card_issuer="American Express",
    income_accounts=("Design Services", "Workshop Income"),
    items=(
        ItemSpec("Design Services", 12_500, "Design Services", "Design services (hours)"),
        ItemSpec("Brand Strategy", 15_000, "Design Services", "Brand strategy (hours)"),
        ItemSpec("Workshop Ticket", 4_500, "Workshop Income", "Design workshop ticket"),
    ),
    vendors=(
        VendorSpec("Kai Nakamura Illustration", NET15, is_1099=True),
        VendorSpec("Pixel Forge Print Shop", NET30, account_number="TDS-0192"),
        VendorSpec("Northwind Hosting", NET30),
        VendorSpec("Blue Harbor Insurance", NEXT_15TH),
        VendorSpec("Lumen Photography", NET15, is_1099=True),
        VendorSpec("Seabright Copywriting", NET15, active=False, is_1099=True),
        VendorSpec("Gusto"),
        VendorSpec("Westcliff Commons LLC"),
        VendorSpec("Pacific Gas & Electric"),
        VendorSpec("Spectrum Business"),
        VendorSpec("American Express"),
        VendorSpec("Adobe"),
        VendorSpec("Figma"),
        VendorSpec("Google Workspace"),
        VendorSpec("LinkedIn Ads"),
        VendorSpec("United Airlines"),
    ),
    customers=(
        CustomerSpec("Harborview Dental Group", NET30),
        CustomerSpec("Coastline Realty", NET15),
        CustomerSpec("Saltmarsh Brewing Co.", NET30),
        CustomerSpec("Seacliff Vineyards", NET30),
        CustomerSpec("Pier 9 Outfitters", NET30),
        CustomerSpec("Tern & Tide Boutique", ON_RECEIPT),
        CustomerSpec("Bayline Credit Union", NET30, active=False),
        CustomerSpec("Workshop Attendees", email=False),
    ),
    bills=(
        BillStream(
            "Kai Nakamura Illustration",
            Cadence(21, lag=4),
            (120_000, 240_000),
            ("Subcontractors",),
            "Illustration",
            (1, 4),
        ),
        BillStream(
            "Pixel Forge Print Shop",
            Cadence(14, weekday=WED),
            (40_000, 110_000),
            ("Cost of Goods Sold",),
            "Print production",
            (3, 6),
        ),
        BillStream(
            "Northwind Hosting",
            _monthly(6),
            (34_900, 34_900),
            ("Software & Subscriptions",),
            "Managed hosting",
        ),
        BillStream(
            "Blue Harbor Insurance", _monthly(13), (68_400, 68_400), ("Insurance",), "Professional liability"
        ),
        BillStream(
            "Lumen Photography",
            Cadence(35, lag=10),
            (90_000, 180_000),
            ("Subcontractors",),
            "Product photography",
            (1, 4),
        ),
        BillStream(
            "Seabright Copywriting",
            Cadence(28, lag=2, last_ago=200),
            (80_000, 120_000),
            ("Subcontractors",),
            "Copywriting",
        ),
    ),
    spending=(
        SpendStream(
            "Gusto", Cadence(14, weekday=FRI), (1_140_000, 1_200_000), "Payroll Expenses", CHECKING, "Payroll"
        ),
        SpendStream(
            "Westcliff Commons LLC",
            _monthly(2),
            (420_000, 420_000),
            "Rent or Lease",
            CHECKING,
            "Studio rent",
            check=True,
        ),
        SpendStream(
            "Pacific Gas & Electric", _monthly(8), (18_000, 26_000), "Utilities", CHECKING, "Electric"
        ),
        SpendStream("Spectrum Business", _monthly(17), (13_999, 13_999), "Utilities", CHECKING, "Internet"),
        SpendStream(
            "Adobe", _monthly(4), (32_994, 32_994), "Software & Subscriptions", AMEX, "Creative Cloud"
        ),
        SpendStream("Figma", _monthly(10), (18_000, 18_000), "Software & Subscriptions", AMEX, "Figma seats"),
        SpendStream(
            "Google Workspace", _monthly(15), (14_400, 14_400), "Software & Subscriptions", AMEX, "Workspace"
        ),
        SpendStream(
            "LinkedIn Ads", Cadence(14, lag=3), (18_000, 32_000), "Advertising", AMEX, "Sponsored posts"
        ),
        SpendStream("United Airlines", Cadence(63, lag=12), (32_000, 64_000), "Travel", AMEX, "Client visit"),
    ),
    invoices=(
        InvoiceStream(
            "Harborview Dental Group",
            Cadence(14, weekday=MON),
            (SaleLine("Design Services", (22, 28)),),
            (10, 14),
            "bank",
        ),
        InvoiceStream(
            "Coastline Realty",
            Cadence(14, weekday=THU),
            (SaleLine("Design Services", (14, 18)),),
            (25, 31),
            "uf",
        ),
        InvoiceStream(
            "Saltmarsh Brewing Co.",
            Cadence(14, weekday=TUE),
            (SaleLine("Brand Strategy", (5, 7)), SaleLine("Design Services", (11, 14))),
            (-1, 3),
            "bank",
        ),
        InvoiceStream(
            "Seacliff Vineyards",
            Cadence(14, weekday=WED, last_ago=56),
            (SaleLine("Design Services", (16, 22)),),
            (14, 18),
            "bank",
        ),
        InvoiceStream(
            "Pier 9 Outfitters",
            Cadence(14, weekday=FRI),
            (SaleLine("Design Services", (9, 13)),),
            (42, 50),
            "uf",
        ),
        InvoiceStream(
            "Tern & Tide Boutique",
            Cadence(14, lag=11),
            (SaleLine("Design Services", (5, 7)),),
            (10, 14),
            "bank",
        ),
        InvoiceStream(
            "Bayline Credit Union",
            Cadence(14, lag=6, last_ago=120),
            (SaleLine("Brand Strategy", (12, 20)), SaleLine("Design Services", (32, 44))),
            (3, 8),
            "bank",
        ),
    ),
    sales=(
        SalesStream(
            "Workshop Attendees",
            Cadence(28, weekday=SAT),
            (SaleLine("Workshop Ticket", (8, 16)),),
            "bank",
            "Saturday workshop",
        ),
    ),
    refund=Refund("United Airlines", 60, 24_560, "Travel", AMEX, "Cancelled flight"),
    vendor_credit=VendorCreditSpec(
        "Pixel Forge Print Shop", 25, 18_000, "Cost of Goods Sold", "Credit for misprinted brochures"
    ),
    credit_memo=CreditMemoSpec("Coastline Realty", 40, "Design Services", 2, 12_500),
    pay_run_weekday=FRI,
    deposit_weekdays=(TUE,),
    card_payoff=_monthly(16),
    interest_cents=(800, 1_500),
)


IN_TROUBLE = Profile(
    key="in_trouble",
    name="Ironclad Fabrication",
    legal_name="Ironclad Fabrication & Welding LLC",
    place=Place("3300 Navy Drive", "Stockton", "CA", "95206", "209"),
    web="ironcladfab.example",
    started=(11, 5),
    checking_cents=4_750_000,
    card_account=VISA,
    card_issuer="Chase Card Services",
    income_accounts=("Fabrication Income",),
    extra_accounts=(SBA_LOAN,),
    loan=Loan(210, 12_000_000, SBA_LOAN, "Pacific Business Bank", "SBA 7(a) loan proceeds"),
    items=(
        ItemSpec("Custom Fabrication", 9_500, "Fabrication Income", "Fabrication and welding (hours)"),
        ItemSpec("Materials Billed", 100, "Fabrication Income", "Steel and consumables", "NonInventory"),
    ),
    vendors=(
        VendorSpec("Summit Steel Supply", NET30, account_number="IF-88120"),
        VendorSpec("Airgas West", NET30),
        VendorSpec("Westside Equipment Leasing", NET15),
        VendorSpec("Central Valley Welding Supply", NET15),
        VendorSpec("Granite State Insurance", NEXT_15TH),
        VendorSpec("Kessler Machine Works", NET30, is_1099=True),
        VendorSpec("Bay Area Metals", NET30, active=False),
        VendorSpec("ADP Payroll"),
        VendorSpec("Harbor Industrial Park LLC"),
        VendorSpec("Pacific Gas & Electric"),
        VendorSpec("Pacific Business Bank"),
        VendorSpec("Chase Card Services"),
        VendorSpec("Grainger"),
        VendorSpec("Shell Fleet"),
        VendorSpec("Verizon Wireless"),
    ),
    customers=(
        CustomerSpec("Delta Ridge Construction", NET30),
        CustomerSpec("Valley Ag Equipment", NET30),
        CustomerSpec("Port of Stockton Contractors", NET30),
        CustomerSpec("Mendez Ranch Supply", ON_RECEIPT),
        CustomerSpec("Sierra Solar Installers", NET15, active=False),
    ),
    bills=(
        BillStream(
            "Summit Steel Supply",
            Cadence(7, weekday=TUE),
            (280_000, 460_000),
            ("Materials",),
            "Plate, tube and bar stock",
            (20, 28),
        ),
        BillStream(
            "Airgas West",
            Cadence(14, weekday=THU),
            (52_000, 98_000),
            ("Supplies",),
            "Welding gas and rentals",
            (22, 28),
        ),
        BillStream(
            "Westside Equipment Leasing",
            _monthly(7),
            (245_000, 245_000),
            ("Equipment Rental",),
            "Press brake lease",
            (14, 22),
        ),
        BillStream(
            "Central Valley Welding Supply",
            Cadence(14, lag=5),
            (30_000, 65_000),
            ("Supplies",),
            "Wire, rod and grinding discs",
            (12, 20),
        ),
        BillStream(
            "Granite State Insurance",
            _monthly(14),
            (118_000, 118_000),
            ("Insurance",),
            "General liability",
            (0, 5),
        ),
        BillStream(
            "Kessler Machine Works",
            Cadence(28, lag=9),
            (150_000, 320_000),
            ("Subcontractors",),
            "Machining subcontract",
            (26, 32),
        ),
        BillStream(
            "Bay Area Metals",
            Cadence(14, lag=2, last_ago=180),
            (120_000, 200_000),
            ("Materials",),
            "Aluminum stock",
            (10, 20),
        ),
    ),
    spending=(
        SpendStream(
            "ADP Payroll",
            Cadence(7, weekday=FRI),
            (820_000, 890_000),
            "Payroll Expenses",
            CHECKING,
            "Weekly payroll",
        ),
        SpendStream(
            "Harbor Industrial Park LLC",
            _monthly(2),
            (680_000, 680_000),
            "Rent or Lease",
            CHECKING,
            "Shop rent",
            check=True,
        ),
        SpendStream(
            "Pacific Gas & Electric", _monthly(10), (150_000, 230_000), "Utilities", CHECKING, "Shop power"
        ),
        SpendStream(
            "Pacific Business Bank", _monthly(20), (210_000, 210_000), SBA_LOAN, CHECKING, "SBA loan payment"
        ),
        SpendStream("Grainger", Cadence(14, lag=6), (12_000, 48_000), "Supplies", VISA, "Shop supplies"),
        SpendStream("Shell Fleet", Cadence(7, weekday=WED), (18_000, 32_000), "Fuel", VISA, "Truck fuel"),
        SpendStream("Verizon Wireless", _monthly(18), (28_640, 28_640), "Utilities", VISA, "Phones"),
    ),
    invoices=(
        InvoiceStream(
            "Delta Ridge Construction",
            Cadence(14, weekday=MON),
            (
                SaleLine("Custom Fabrication", (40, 60)),
                SaleLine("Materials Billed", (1, 1), (120_000, 180_000)),
            ),
            (28, 36),
            "uf",
        ),
        InvoiceStream(
            "Valley Ag Equipment",
            Cadence(14, weekday=WED),
            (SaleLine("Custom Fabrication", (38, 52)),),
            (18, 26),
            "bank",
        ),
        InvoiceStream(
            "Port of Stockton Contractors",
            Cadence(14, weekday=THU),
            (
                SaleLine("Custom Fabrication", (34, 46)),
                SaleLine("Materials Billed", (1, 1), (120_000, 160_000)),
            ),
            (38, 46),
            "bank",
        ),
        InvoiceStream(
            "Mendez Ranch Supply",
            Cadence(14, weekday=TUE),
            (SaleLine("Custom Fabrication", (14, 20)),),
            (12, 18),
            "uf",
        ),
        InvoiceStream(
            "Sierra Solar Installers",
            Cadence(7, lag=8, last_ago=90),
            (SaleLine("Custom Fabrication", (80, 100)),),
            (5, 10),
            "bank",
        ),
    ),
    sales=(),
    refund=Refund("Grainger", 30, 21_235, "Supplies", VISA, "Returned grinder"),
    vendor_credit=VendorCreditSpec(
        "Summit Steel Supply", 18, 64_000, "Materials", "Returned plate, wrong gauge"
    ),
    credit_memo=CreditMemoSpec("Valley Ag Equipment", 50, "Custom Fabrication", 4, 9_500),
    pay_run_weekday=WED,
    deposit_weekdays=(WED,),
    card_payoff=_monthly(15),
    interest_cents=(200, 600),
)


MESSY = Profile(
    key="messy",
    name="Brightside Landscaping",
    legal_name="Brightside Landscaping Co.",
    place=Place("780 Monterey Road", "San Jose", "CA", "95112", "408"),
    web="brightsidelandscaping.example",
    started=(9, 2),
    checking_cents=3_900_000,
    card_account=VISA,
    card_issuer="Wells Fargo Card Services",
    income_accounts=("Landscaping Services", "Maintenance Contracts", "Retail Sales"),
    items=(
        ItemSpec("Maintenance Contract", 100, "Maintenance Contracts", "Monthly grounds maintenance"),
        ItemSpec("Landscaping Labor", 6_500, "Landscaping Services", "Landscaping crew (hours)"),
        ItemSpec("Plants & Materials", 100, "Landscaping Services", "Plants and materials", "NonInventory"),
        ItemSpec("Plant Sales", 100, "Retail Sales", "Plant sales", "NonInventory"),
    ),
    vendors=(
        VendorSpec("Green Valley Nursery", NET30, account_number="BL-3012"),
        VendorSpec("Rocky Ridge Stone & Gravel"),
        VendorSpec("Fleet Fuel Cards", NET15),
        VendorSpec("Sierra Equipment Rental", NET15),
        VendorSpec("Hillside Irrigation Supply", NET30),
        VendorSpec("Old Mill Lumber", NET30, active=False),
        VendorSpec("Gusto"),
        VendorSpec("Monterey Road Storage"),
        VendorSpec("Pacific Gas & Electric"),
        VendorSpec("Ford Credit"),
        VendorSpec("Wells Fargo Card Services"),
        VendorSpec("Home Depot"),
        VendorSpec("Shell"),
        VendorSpec("Yelp Ads"),
    ),
    customers=(
        CustomerSpec("Lakeside HOA", NET30),
        CustomerSpec("Willow Glen Office Park", NET30),
        CustomerSpec("The Hendersons", ON_RECEIPT),
        CustomerSpec("Almaden Dental Care", NET15),
        CustomerSpec("Cambrian Park Apartments", NET30),
        CustomerSpec("Oakridge Business Park", NET30),
        CustomerSpec("Santa Teresa HOA", NET30),
        CustomerSpec("Blossom Hill Builders", NET30),
        CustomerSpec("Evergreen Community Church", NET30, active=False),
        CustomerSpec("Walk-in Customers", email=False),
    ),
    bills=(
        BillStream(
            "Green Valley Nursery",
            Cadence(14, weekday=WED),
            (120_000, 260_000),
            ("Plants & Soil",),
            "Plants, trees and soil",
            (0, 6),
        ),
        BillStream(
            "Rocky Ridge Stone & Gravel",
            Cadence(21, lag=9),
            (40_000, 120_000),
            ("Materials",),
            "Decomposed granite and boulders",
            (20, 30),
        ),
        BillStream(
            "Fleet Fuel Cards", Cadence(14, lag=4), (45_000, 80_000), ("Fuel",), "Crew truck fuel", (0, 3)
        ),
        BillStream(
            "Sierra Equipment Rental",
            Cadence(28, lag=13),
            (70_000, 150_000),
            ("Equipment Rental",),
            "Skid steer and trencher rental",
            (0, 5),
        ),
        BillStream(
            "Hillside Irrigation Supply",
            Cadence(21, lag=6),
            (30_000, 90_000),
            ("Supplies",),
            "Drip line, valves and controllers",
            (2, 8),
        ),
        BillStream(
            "Old Mill Lumber",
            Cadence(28, lag=5, last_ago=140),
            (40_000, 90_000),
            ("Materials",),
            "Redwood for planter boxes",
            (0, 5),
        ),
    ),
    spending=(
        SpendStream(
            "Gusto",
            Cadence(14, weekday=FRI),
            (980_000, 1_060_000),
            "Payroll Expenses",
            CHECKING,
            "Crew payroll",
        ),
        SpendStream(
            "Monterey Road Storage",
            _monthly(3),
            (295_000, 295_000),
            "Rent or Lease",
            CHECKING,
            "Yard rent",
            check=True,
        ),
        SpendStream(
            "Pacific Gas & Electric", _monthly(11), (24_000, 38_000), "Utilities", CHECKING, "Yard power"
        ),
        SpendStream(
            "Ford Credit", _monthly(19), (78_055, 78_055), "Vehicle Expenses", CHECKING, "F-250 loan payment"
        ),
        SpendStream(
            "Home Depot", Cadence(14, weekday=MON), (18_000, 84_000), "Supplies", VISA, "Job supplies"
        ),
        SpendStream("Shell", Cadence(14, weekday=THU), (24_000, 52_000), "Fuel", VISA, "Fuel"),
        SpendStream("Yelp Ads", _monthly(7), (40_000, 40_000), "Advertising", VISA, "Yelp listing"),
    ),
    invoices=(
        InvoiceStream(
            "Lakeside HOA",
            _monthly(4),
            (SaleLine("Maintenance Contract", (1, 1), (240_000, 240_000)),),
            (5, 15),
            "uf",
        ),
        InvoiceStream(
            "Willow Glen Office Park",
            _monthly(5),
            (SaleLine("Maintenance Contract", (1, 1), (185_000, 185_000)),),
            (0, 8),
            "bank",
        ),
        InvoiceStream(
            "The Hendersons",
            Cadence(21, lag=7),
            (
                SaleLine("Landscaping Labor", (8, 20)),
                SaleLine("Plants & Materials", (1, 1), (20_000, 80_000)),
            ),
            (5, 20),
            "uf",
        ),
        InvoiceStream(
            "Almaden Dental Care",
            _monthly(6),
            (SaleLine("Maintenance Contract", (1, 1), (65_000, 65_000)),),
            (2, 10),
            "bank",
        ),
        InvoiceStream(
            "Cambrian Park Apartments",
            Cadence(7, weekday=TUE),
            (SaleLine("Landscaping Labor", (20, 36)),),
            (10, 25),
            "bank",
        ),
        InvoiceStream(
            "Oakridge Business Park",
            _monthly(3),
            (SaleLine("Maintenance Contract", (1, 1), (320_000, 320_000)),),
            (0, 10),
            "bank",
        ),
        InvoiceStream(
            "Santa Teresa HOA",
            _monthly(8),
            (SaleLine("Maintenance Contract", (1, 1), (280_000, 280_000)),),
            (8, 18),
            "uf",
        ),
        InvoiceStream(
            "Blossom Hill Builders",
            Cadence(14, weekday=THU),
            (
                SaleLine("Landscaping Labor", (40, 70)),
                SaleLine("Plants & Materials", (1, 1), (100_000, 300_000)),
            ),
            (15, 30),
            "bank",
        ),
        InvoiceStream(
            "Evergreen Community Church",
            Cadence(28, lag=9, last_ago=160),
            (SaleLine("Landscaping Labor", (10, 18)),),
            (0, 10),
            "uf",
        ),
    ),
    sales=(
        SalesStream(
            "Walk-in Customers",
            Cadence(7, weekday=SAT),
            (SaleLine("Plant Sales", (1, 1), (30_000, 70_000)),),
            "uf",
            "Saturday plant sales",
        ),
    ),
    refund=Refund("Home Depot", 40, 15_688, "Supplies", VISA, "Returned sprinkler heads"),
    vendor_credit=VendorCreditSpec(
        "Green Valley Nursery", 16, 21_000, "Plants & Soil", "Credit for dead boxwoods"
    ),
    credit_memo=CreditMemoSpec("The Hendersons", 27, "Plants & Materials", 1, 18_000),
    pay_run_weekday=TUE,
    deposit_weekdays=(MON,),
    card_payoff=_monthly(12),
    interest_cents=(300, 900),
    extra_accounts=(UNCATEGORIZED,),
    messy_books=True,
)


CAFE = Profile(
    key="cafe",
    name="Copper Kettle Cafe",
    legal_name="Copper Kettle Cafe LLC",
    place=Place("2010 J Street", "Sacramento", "CA", "95811", "916"),
    web="copperkettlecafe.example",
    started=(3, 6),
    checking_cents=2_250_000,
    card_account=VISA,
    card_issuer="Chase Card Services",
    income_accounts=("Sales", "Catering Sales"),
    items=(
        ItemSpec("Counter Sales", 100, "Sales", "Counter sales summary"),
        ItemSpec("Office Catering", 1_800, "Catering Sales", "Boxed breakfast for offices"),
    ),
    vendors=(
        VendorSpec("Maple Street Bakery", NET15),
        VendorSpec("Bean & Bloom Coffee Roasters", NET15),
        VendorSpec("Valley Dairy Co-op", NET15),
        VendorSpec("Capitol Insurance Group", NEXT_15TH),
        VendorSpec("Rio Linda Farms", NET15, active=False),
        VendorSpec("Gusto"),
        VendorSpec("J Street Holdings"),
        VendorSpec("SMUD"),
        VendorSpec("Sam Okafor"),
        VendorSpec("Chase Card Services"),
        VendorSpec("Costco Business Center"),
        VendorSpec("Instagram Ads"),
    ),
    customers=(
        CustomerSpec("Capitol Legal Partners", NET15),
        CustomerSpec("Midtown Yoga Collective", ON_RECEIPT),
        CustomerSpec("Walk-in Customers", email=False),
    ),
    bills=(
        BillStream(
            "Maple Street Bakery",
            Cadence(14, weekday=THU),
            (40_000, 62_000),
            ("Cost of Goods Sold",),
            "Pastries and bread",
            (0, 3),
        ),
        BillStream(
            "Bean & Bloom Coffee Roasters",
            Cadence(14, weekday=MON),
            (96_000, 140_000),
            ("Coffee & Beverages",),
            "Coffee beans",
            (0, 2),
        ),
        BillStream(
            "Valley Dairy Co-op",
            Cadence(28, weekday=FRI),
            (72_000, 120_000),
            ("Coffee & Beverages",),
            "Milk",
            (0, 2),
        ),
        BillStream(
            "Capitol Insurance Group",
            _monthly(12),
            (28_600, 28_600),
            ("Insurance",),
            "Business owner's policy",
        ),
        BillStream(
            "Rio Linda Farms",
            Cadence(28, lag=3, last_ago=120),
            (12_000, 24_000),
            ("Cost of Goods Sold",),
            "Produce",
        ),
    ),
    spending=(
        SpendStream(
            "Gusto", Cadence(14, weekday=FRI), (560_000, 610_000), "Payroll Expenses", CHECKING, "Payroll"
        ),
        SpendStream(
            "J Street Holdings",
            _monthly(3),
            (340_000, 340_000),
            "Rent or Lease",
            CHECKING,
            "Rent",
            check=True,
        ),
        SpendStream("SMUD", _monthly(12), (38_000, 52_000), "Utilities", CHECKING, "Electric"),
        SpendStream("Sam Okafor", _monthly(6), (550_000, 550_000), "Owner's Draw", CHECKING, "Owner's draw"),
        SpendStream(
            "Costco Business Center",
            Cadence(28, weekday=SAT),
            (36_000, 84_000),
            "Supplies",
            VISA,
            "Cups and supplies",
        ),
        SpendStream("Instagram Ads", _monthly(9), (12_000, 12_000), "Advertising", VISA, "Promoted posts"),
    ),
    invoices=(
        InvoiceStream(
            "Capitol Legal Partners",
            Cadence(14, weekday=WED),
            (SaleLine("Office Catering", (6, 14)),),
            (0, 6),
            "bank",
        ),
        InvoiceStream(
            "Midtown Yoga Collective",
            Cadence(28, lag=8),
            (SaleLine("Office Catering", (4, 8)),),
            (4, 10),
            "uf",
        ),
    ),
    sales=(
        SalesStream(
            "Walk-in Customers",
            Cadence(7, weekday=MON),
            (SaleLine("Counter Sales", (1, 1), (540_000, 640_000)),),
            "bank",
            "Square payout",
        ),
        SalesStream(
            "Walk-in Customers",
            Cadence(14, weekday=SAT),
            (SaleLine("Counter Sales", (1, 1), (70_000, 120_000)),),
            "uf",
            "Cash sales, two weeks",
        ),
    ),
    refund=Refund("Costco Business Center", 38, 4_899, "Supplies", VISA, "Returned cup lids"),
    vendor_credit=VendorCreditSpec(
        "Bean & Bloom Coffee Roasters", 22, 6_250, "Coffee & Beverages", "Credit for a damaged bag"
    ),
    credit_memo=CreditMemoSpec("Capitol Legal Partners", 19, "Office Catering", 1, 1_800),
    pay_run_weekday=WED,
    deposit_weekdays=(MON,),
    card_payoff=_monthly(13),
    interest_cents=(400, 900),
)

PROFILES: dict[str, Profile] = {p.key: p for p in (HEALTHY, TIGHT, IN_TROUBLE, MESSY, CAFE)}
