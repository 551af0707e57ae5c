"""Deterministic fictional data for the sandboxes: enterprises, persons, licences and credit subjects per city.

Every city also gets its seal platform's electronic seals and its trading centre's projects, each
city's drawn from a stream of its own so that the data above does not move.

Everything here is invented: names are built from word lists (three-character trade names, so that
a generated name is unlikely to be any real company's), codes are generated with valid check
characters (make_uscc, make_resident_id) and GB/T 2260 codes from the catalogue. Organisation
code bodies start with "TB" (Tongban) so that a sandbox code is easy to tell from a real one.
The issuing authorities are the cities' real departments by name, with generated codes.

    data = generate()                      # same seed, same data, on every machine
    data.city("zhongshan").licences

Each city draws from its own random stream (seeded with the seed and the city's id), so adding a
city or a record in one city leaves the others unchanged.

Every city also has a pool of bid-evaluation experts (评标专家库, `CitySeed.experts`) for remote
evaluations: fictional people with valid identity numbers, specialties from the code table
evaluation_specialty, employed by the city's seeded companies or by generated public institutions.
They come from a stream of their own too; so do the enterprises a few of them declared related and the
sanctions recorded against a few (in force on AS_OF, and one over), added after the pool is made.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from catalogs._codes import USCC_CHARSET, make_resident_id, make_uscc
from catalogs._loader import city as _city
from catalogs._loader import code_table, region, regions
from gateway.canonical import (
    CommitmentOutcome,
    CreditRecord,
    CreditSubject,
    ExpertRelation,
    ExpertRelationKind,
    ExpertSanction,
    Licence,
    LicenceStatus,
    Party,
    Seal,
    SealStatus,
    SealType,
    SubjectType,
    TradingCategory,
    TradingProject,
    TradingProjectStatus,
)

__all__ = [
    "AS_OF",
    "DEFAULT_SEED",
    "EXPERTS_PER_CITY",
    "SANDBOX_ORG_PREFIX",
    "CitySeed",
    "Expert",
    "SeedData",
    "generate",
]

DEFAULT_SEED: Final = 20261123
AS_OF: Final = date(2026, 11, 23)
"""The day the sandbox data describes: statuses and validity periods are as of this date."""
SANDBOX_ORG_PREFIX: Final = "TB"
"""First two characters of every generated organisation code body (positions 9-10 of a USCC)."""

ENTERPRISES_PER_CITY: Final = 30
INDIVIDUAL_BUSINESSES_PER_CITY: Final = 6
PERSONS_PER_CITY: Final = 20

SubjectStatus = Literal["active", "revoked", "cancelled", "dissolved"]
Gender = Literal["male", "female"]

_LICENCE_STATUS: Final[dict[SubjectStatus, LicenceStatus]] = {
    "active": "valid",
    "revoked": "revoked",
    "cancelled": "cancelled",
    "dissolved": "cancelled",
}
"""The status of an enterprise's business licence, given the enterprise's own status."""


@dataclass(frozen=True, slots=True)
class CitySeed:
    """One city's sandbox data, as canonical objects."""

    city: str
    region: str
    authorities: tuple[Party, ...]
    enterprises: tuple[Party, ...]
    persons: tuple[Party, ...]
    licences: tuple[Licence, ...]
    credit_subjects: tuple[CreditSubject, ...]
    seals: tuple[Seal, ...]  # the seal platform's electronic seals of the city's organisations
    trading_projects: tuple[TradingProject, ...]  # the trading centre's projects
    experts: tuple[Expert, ...] = ()  # the trading centre's pool of bid-evaluation experts


@dataclass(frozen=True, slots=True)
class SeedData:
    """The sandboxes' data for every city, generated from one seed as of one day."""

    seed: int
    as_of: date
    cities: tuple[CitySeed, ...]

    def city(self, key: str) -> CitySeed:
        """One city's data, by id ("shenzhen") or GB/T 2260 code ("440300")."""
        wanted = _city(key).id
        for item in self.cities:
            if item.city == wanted:
                return item
        raise KeyError(wanted)


# ---- word lists ----------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_TRADE_FIRST: Final = "澜禾翊泓霖煜曜昀湛楷峻晟钧朗骁珩琮璟岚砚"
_TRADE_MIDDLE: Final = "启衡川岳桥屿舟帆墨策途芯禧澄栎棠蔚溯沅朴"
_TRADE_LAST: Final = "达源汇联通创丰泰恒远驰宸拓锦航越致睿骏瀚"

_FAMOUS: Final = (
    "华为",
    "腾讯",
    "阿里",
    "比亚迪",
    "中兴",
    "大疆",
    "万科",
    "平安",
    "招商",
    "美的",
    "格力",
    "明阳",
    "伊利",
    "蒙牛",
    "小米",
    "顺丰",
    "迈瑞",
    "汇川",
)
"""Parts of well-known enterprises' names that a generated name must never contain (a test checks)."""


@dataclass(frozen=True, slots=True)
class _Industry:
    word: str
    scope: str
    licences: tuple[str, ...] = ()


_INDUSTRIES: Final = {
    "tech": _Industry("科技", "计算机软硬件及辅助设备的技术开发与销售；信息系统集成服务；信息技术咨询服务。"),
    "it": _Industry("信息技术", "软件开发；数据处理和存储支持服务；互联网数据服务。"),
    "electronics": _Industry("电子", "电子产品、电子元器件的研发、生产与销售；货物及技术进出口。"),
    "robotics": _Industry("智能装备", "智能机器人、工业自动化设备的研发、制造与销售。"),
    "catering": _Industry("餐饮管理", "餐饮服务；餐饮管理；食品销售。", ("food_operation_permit",)),
    "food": _Industry("食品", "食品销售；农副产品销售；食品进出口。", ("food_operation_permit",)),
    "pharmacy": _Industry("医药", "药品零售；第二类医疗器械销售；保健食品销售。", ("drug_operation_permit",)),
    "construction": _Industry(
        "建筑工程",
        "建设工程施工；建筑装饰工程；市政设施管理。",
        ("construction_qualification", "safety_production_permit"),
    ),
    "trade": _Industry("贸易", "国内贸易；日用百货、五金交电销售；货物及技术进出口。"),
    "logistics": _Industry("物流", "道路货物运输（不含危险货物）；仓储服务；国内货物运输代理。"),
    "lighting": _Industry("灯饰", "灯具、照明器具及配件的设计、生产与销售。"),
    "appliances": _Industry("电器", "家用电器、厨房电器的研发、生产与销售。"),
    "furniture": _Industry("家具", "家具的设计、制造与销售；木制品加工。"),
    "dairy": _Industry("乳业", "乳制品生产与销售；奶牛养殖技术服务。", ("food_production_permit",)),
    "farming": _Industry("农牧业", "牲畜饲养；草种植；农副产品加工与销售。"),
    "energy": _Industry("新能源", "太阳能、风力发电技术开发；新能源设备销售。"),
}

_SHOPS: Final = (
    ("便利店", "日用百货、预包装食品零售。", ("food_operation_permit",)),
    ("面馆", "餐饮服务（小型餐饮）。", ("food_operation_permit",)),
    ("五金店", "五金交电、建材零售。", ()),
    ("理发店", "理发服务。", ()),
    ("水果店", "新鲜水果零售。", ("food_operation_permit",)),
    ("药店", "药品零售。", ("drug_operation_permit",)),
)

_SURNAMES: Final = "陈李黄张林王刘梁吴何郑罗谢冯周徐邓曾朱钟彭叶蔡许赵杨胡孙高马"
_GIVEN_MALE: Final = _words("伟 俊杰 志强 浩然 家豪 子轩 建华 文博 国栋 振宇 明辉 嘉诚 锦程 海涛")
_GIVEN_FEMALE: Final = _words("静 丽娟 雅琪 欣怡 梓涵 晓燕 慧敏 婉婷 佩玲 淑仪 诗雨 可欣 秀兰 嘉欣")
_MONGOLIAN_MALE: Final = _words("巴特尔 额尔敦 宝音图 朝鲁 苏和 那顺")
_MONGOLIAN_FEMALE: Final = _words("其其格 萨仁 乌兰 斯琴 高娃 托娅")

_ROADS: Final = _words("创业路 兴华路 新城大道 和平路 学府路 工业一路 滨河路 文化路 科技二路 建设路")


@dataclass(frozen=True, slots=True)
class _Profile:
    """What makes a city's data look like that city's."""

    city: str
    name_prefixes: tuple[str, ...]
    areas: tuple[str, ...]  # districts, towns or subdistricts used in addresses and shop names
    enterprise_regions: tuple[str, ...]  # GB/T 2260 codes used in USCC positions 3-8
    person_regions: tuple[str, ...]  # GB/T 2260 codes used in resident identity numbers
    industries: tuple[str, ...]
    market_regulator: str
    housing_authority: str
    tax_bureau: str
    police: str
    police_branch: str | None  # how a district's police branch is named, from {district} and {short}
    province_short: str
    mongolian_share: float = 0.0


def _profiles() -> tuple[_Profile, ...]:
    shenzhen_districts = tuple(r.code for r in regions("440300"))
    hohhot_districts = ("150102", "150103", "150104", "150105")
    return (
        _Profile(
            city="shenzhen",
            name_prefixes=("深圳市", "深圳市", "深圳市前海"),
            areas=tuple(region(code).name for code in shenzhen_districts),
            enterprise_regions=("440300",),
            person_regions=shenzhen_districts,
            industries=_words("tech it electronics robotics catering food pharmacy construction trade logistics"),
            market_regulator="深圳市市场监督管理局",
            housing_authority="深圳市住房和建设局",
            tax_bureau="国家税务总局深圳市税务局",
            police="深圳市公安局",
            police_branch="{short}分局",
            province_short="粤",
        ),
        _Profile(
            city="zhongshan",
            name_prefixes=("中山市",),
            areas=_words("石岐街道 东区街道 西区街道 南区街道 小榄镇 古镇镇 坦洲镇 三乡镇 沙溪镇 黄圃镇"),
            enterprise_regions=("442000",),
            person_regions=("442000",),
            industries=_words(
                "lighting appliances furniture electronics catering food pharmacy construction trade tech"
            ),
            market_regulator="中山市市场监督管理局",
            housing_authority="中山市住房和城乡建设局",
            tax_bureau="国家税务总局中山市税务局",
            police="中山市公安局",
            police_branch=None,
            province_short="粤",
        ),
        _Profile(
            city="hohhot",
            name_prefixes=("呼和浩特市", "内蒙古"),
            areas=tuple(region(code).name for code in hohhot_districts),
            enterprise_regions=("150100", *hohhot_districts),
            person_regions=hohhot_districts,
            industries=_words("dairy farming energy catering food pharmacy construction trade logistics tech"),
            market_regulator="呼和浩特市市场监督管理局",
            housing_authority="呼和浩特市住房和城乡建设局",
            tax_bureau="国家税务总局呼和浩特市税务局",
            police="呼和浩特市公安局",
            police_branch="{district}分局",
            province_short="蒙",
            mongolian_share=0.3,
        ),
    )


# ---- helpers -------------------------------------------------------------------------------------

_YEAR: Final = timedelta(days=365)


def _years_after(day: date, years: int) -> date:
    """The same calendar day `years` later (28 February for 29 February in a common year), minus one day."""
    try:
        same = day.replace(year=day.year + years)
    except ValueError:
        same = date(day.year + years, 2, 28)
    return same - timedelta(days=1)


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _authority_uscc(name: str, region_code: str) -> str:
    """A stable generated code for a government authority (registration authority 1, type 1 机关)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    body = SANDBOX_ORG_PREFIX + "".join(USCC_CHARSET[b % len(USCC_CHARSET)] for b in digest[:6])
    return make_uscc("1", "1", region_code, body)


class _CityGenerator:
    """Generates one city's data from its own random stream."""

    def __init__(self, profile: _Profile, seed: int, as_of: date) -> None:
        self.profile = profile
        self.as_of = as_of
        self.rng = random.Random(f"tongban-sandbox:{seed}:{profile.city}")
        self.seed = seed
        self.region = _city(profile.city).region
        self.used_names: set[str] = set()
        self.used_codes: set[str] = set()
        self.used_numbers: set[str] = set()
        self.licence_serial = 0
        self.authorities: dict[str, Party] = {}

    # -- parties --

    def authority(self, name: str) -> Party:
        if name not in self.authorities:
            self.authorities[name] = Party(name=name, id_type="uscc", id_number=_authority_uscc(name, self.region))
        return self.authorities[name]

    def trade_name(self) -> str:
        rng = self.rng
        while True:
            trade = rng.choice(_TRADE_FIRST) + rng.choice(_TRADE_MIDDLE) + rng.choice(_TRADE_LAST)
            if trade not in self.used_names:
                self.used_names.add(trade)
                return trade

    def uscc(self, org_type: str) -> str:
        while True:
            body = SANDBOX_ORG_PREFIX + "".join(self.rng.choice(USCC_CHARSET) for _ in range(6))
            code = make_uscc("9", org_type, self.rng.choice(self.profile.enterprise_regions), body)
            if code not in self.used_codes:
                self.used_codes.add(code)
                return code

    def person_name(self, gender: Gender) -> str:
        rng = self.rng
        if rng.random() < self.profile.mongolian_share:
            return rng.choice(_MONGOLIAN_MALE if gender == "male" else _MONGOLIAN_FEMALE)
        return rng.choice(_SURNAMES) + rng.choice(_GIVEN_MALE if gender == "male" else _GIVEN_FEMALE)

    def address(self, area: str | None = None) -> str:
        rng = self.rng
        city_name = _city(self.profile.city).name
        area = area or rng.choice(self.profile.areas)
        building = rng.choice(("", f"{rng.randint(1, 12)}栋", f"{rng.choice('ABC')}座"))
        room = f"{rng.randint(1, 28)}0{rng.randint(1, 9)}室"
        return f"{city_name}{area}{rng.choice(_ROADS)}{rng.randint(1, 388)}号{building}{room}"

    # -- licences --

    def serial(self) -> int:
        self.licence_serial += 1
        return self.licence_serial

    def licence_number(self, licence_type: str, holder: Party, issued_on: date) -> str:
        p = self.profile
        serial = self.serial()
        county = self.region
        if licence_type in ("business_licence", "individual_business_licence", "resident_id_card"):
            return holder.id_number
        if licence_type == "food_operation_permit":
            return f"JY{self.rng.choice('12')}{county}{serial:06d}{self.rng.randint(0, 9)}"
        if licence_type == "food_production_permit":
            return f"SC105{county}{serial:04d}{self.rng.randint(0, 9)}"
        if licence_type == "drug_operation_permit":
            return f"{p.province_short}AA{county[:4]}{serial:03d}"
        if licence_type == "construction_qualification":
            return f"D2{county[:2]}{serial:06d}"
        if licence_type == "safety_production_permit":
            return f"（{p.province_short}）JZ安许证字〔{issued_on.year}〕{serial:06d}"
        return f"{county}-{issued_on.year}-{serial:06d}"

    def licence(
        self,
        licence_type: str,
        holder: Party,
        issuer: Party,
        *,
        issued_on: date,
        valid_from: date,
        valid_until: date | None,
        status: LicenceStatus,
        scope: str | None = None,
        address: str | None = None,
        legal_representative: str | None = None,
    ) -> Licence:
        return Licence(
            licence_number=self.licence_number(licence_type, holder, issued_on),
            licence_type=licence_type,
            title=code_table("licence_type").label(licence_type),
            holder=holder,
            issuer_name=issuer.name,
            issuer_code=issuer.id_number,
            issuing_city=self.region,
            issued_on=issued_on,
            valid_from=valid_from,
            valid_until=valid_until,
            status=status,
            scope=scope,
            address=address,
            legal_representative=legal_representative,
        )

    def permit(
        self, licence_type: str, holder: Party, status: LicenceStatus, address: str, operator: str, scope: str
    ) -> Licence:
        """A five-year permit whose dates agree with its status as of the sandbox day."""
        if licence_type in ("construction_qualification", "safety_production_permit"):
            issuer = self.authority(self.profile.housing_authority)
        else:
            issuer = self.authority(self.profile.market_regulator)
        if status == "expired":
            issued_on = _day_between(self.rng, self.as_of - 7 * _YEAR, self.as_of - 5 * _YEAR - timedelta(days=5))
        else:
            issued_on = _day_between(self.rng, self.as_of - 4 * _YEAR, self.as_of - timedelta(days=20))
        return self.licence(
            licence_type,
            holder,
            issuer,
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=_years_after(issued_on, 5),
            status=status,
            scope=scope,
            address=address,
            legal_representative=operator,
        )

    # -- the city --

    def persons(self) -> list[tuple[Party, date, str]]:
        """Persons with their birth dates and the district code of their identity numbers."""
        found = []
        for index in range(PERSONS_PER_CITY):
            gender: Gender = "male" if index % 2 == 0 else "female"
            birth = _day_between(self.rng, self.as_of - 68 * _YEAR, self.as_of - 19 * _YEAR)
            district = self.rng.choice(self.profile.person_regions)
            while True:
                sequence = self.rng.randrange(1 if gender == "male" else 0, 1000, 2)
                number = make_resident_id(district, birth, sequence)
                if number not in self.used_numbers:
                    self.used_numbers.add(number)
                    break
            person = Party(name=self.person_name(gender), id_type="resident_id", id_number=number)
            found.append((person, birth, district))
        return found

    def id_card(self, person: Party, birth: date, district: str) -> Licence:
        """A resident identity card valid on the sandbox day, its term set by age at issue (居民身份证法 art. 5)."""
        p = self.profile
        issuer_name = p.police
        if p.police_branch is not None:
            area = region(district).name
            issuer_name += p.police_branch.format(district=area, short=area.removesuffix("区"))
        issued_on = _day_between(self.rng, self.as_of - timedelta(days=9 * 365), self.as_of - timedelta(days=30))
        age = issued_on.year - birth.year - ((issued_on.month, issued_on.day) < (birth.month, birth.day))
        if age < 16:
            term: int | None = 5
        elif age <= 25:
            term = 10
        elif age <= 45:
            term = 20
        else:
            term = None  # 长期
        if term is not None and _years_after(issued_on, term) < self.as_of:
            issued_on = self.as_of - timedelta(days=self.rng.randint(30, 365))
        return self.licence(
            "resident_id_card",
            person,
            self.authority(issuer_name),
            issued_on=issued_on,
            valid_from=issued_on,
            valid_until=None if term is None else _years_after(issued_on, term),
            status="valid",
        )

    def generate(self) -> CitySeed:
        rng = self.rng
        p = self.profile
        regulator = self.authority(p.market_regulator)
        people = self.persons()
        licences: list[Licence] = [self.id_card(person, birth, district) for person, birth, district in people]

        companies = ENTERPRISES_PER_CITY - INDIVIDUAL_BUSINESSES_PER_CITY
        subject_statuses: list[SubjectStatus] = ["revoked", "revoked", "cancelled", "cancelled"]
        subject_statuses += ["active"] * (ENTERPRISES_PER_CITY - len(subject_statuses))
        rng.shuffle(subject_statuses)
        industries = [p.industries[i % len(p.industries)] for i in range(companies)]
        rng.shuffle(industries)

        enterprises: list[Party] = []
        subjects: list[CreditSubject] = []
        permits: list[tuple[str, Party, str, str, str, SubjectStatus]] = []
        for index in range(ENTERPRISES_PER_CITY):
            status = subject_statuses[index]
            subject_type: SubjectType
            established = _day_between(rng, self.as_of - 21 * _YEAR, self.as_of - timedelta(days=400))
            if index < companies:
                industry = _INDUSTRIES[industries[index]]
                name = f"{rng.choice(p.name_prefixes)}{self.trade_name()}{industry.word}有限公司"
                code, subject_type, kind = self.uscc("1"), "enterprise", "business_licence"
                scope, extra = industry.scope, industry.licences
                representative = self.person_name(rng.choice(("male", "female")))
                capital: int | None = rng.choice((100, 300, 500, 1000, 2000, 3000, 5000, 10000)) * 1000
                address = self.address()
            else:
                shop, scope, extra = _SHOPS[(index - companies) % len(_SHOPS)]
                area = rng.choice(p.areas)
                name = f"{_city(p.city).name}{area}{self.trade_name()}{shop}"
                code, subject_type, kind = self.uscc("2"), "individual_business", "individual_business_licence"
                representative = people[(index - companies) * 3 % len(people)][0].name
                capital = None
                address = self.address(area)
            holder = Party(name=name, id_type="uscc", id_number=code)
            enterprises.append(holder)
            issued_on = _day_between(rng, established, self.as_of - timedelta(days=30))
            long_term = rng.random() < 0.7
            licences.append(
                self.licence(
                    kind,
                    holder,
                    regulator,
                    issued_on=issued_on,
                    valid_from=established,
                    valid_until=None if long_term else _years_after(established, rng.choice((30, 50))),
                    status=_LICENCE_STATUS[status],
                    scope=scope,
                    address=address,
                    legal_representative=representative,
                )
            )
            permits.extend((extra_type, holder, address, representative, scope, status) for extra_type in extra)
            subjects.append(
                CreditSubject(
                    uscc=code,
                    name=name,
                    subject_type=subject_type,
                    status=status,
                    established_on=established,
                    legal_representative=representative,
                    registered_capital_cny=capital,
                    address=address,
                    records=self.credit_records(status, code, subject_type),
                )
            )

        # Some permits of active enterprises have lapsed or are suspended; those of closed ones are cancelled.
        live = [i for i, permit in enumerate(permits) if permit[5] == "active"]
        lapsed: tuple[LicenceStatus, ...] = ("expired", "suspended", "expired")
        special: dict[int, LicenceStatus] = dict(
            zip(rng.sample(live, k=min(len(lapsed), len(live))), lapsed, strict=False)
        )
        for index, (extra_type, holder, address, representative, scope, status) in enumerate(permits):
            permit_status: LicenceStatus = special.get(index, "valid") if status == "active" else "cancelled"
            licences.append(self.permit(extra_type, holder, permit_status, address, representative, scope))

        seals, trading_projects = _seals_and_projects(self, tuple(enterprises), tuple(subjects))
        return CitySeed(
            city=p.city,
            region=self.region,
            authorities=tuple(self.authorities.values()),
            enterprises=tuple(enterprises),
            persons=tuple(person for person, *_rest in people),
            licences=tuple(licences),
            credit_subjects=tuple(subjects),
            seals=seals,
            trading_projects=trading_projects,
        )

    def credit_records(self, status: SubjectStatus, code: str, subject_type: SubjectType) -> tuple[CreditRecord, ...]:
        rng = self.rng
        p = self.profile
        records: list[CreditRecord] = []

        def decided(after_days: int = 30) -> date:
            return _day_between(rng, self.as_of - timedelta(days=3 * 365), self.as_of - timedelta(days=after_days))

        if status == "revoked":
            day = decided()
            records.append(
                CreditRecord(
                    kind="administrative_penalty",
                    title="连续六个月以上未开展经营活动，吊销营业执照",
                    authority=p.market_regulator,
                    decided_on=day,
                    valid_until=_years_after(day, 3),
                )
            )
            records.append(
                CreditRecord(
                    kind="serious_dishonesty",
                    title="被吊销营业执照，列入严重违法失信名单",
                    authority=p.market_regulator,
                    decided_on=day,
                    valid_until=_years_after(day, 3),
                )
            )
        elif status == "active":
            roll = rng.random()
            if roll < 0.3:
                year = self.as_of.year - rng.choice((2, 3, 4))  # the year rated; decided the year after
                authority, title = rng.choice(
                    (
                        (p.tax_bureau, f"{year}年度纳税信用A级纳税人"),
                        (p.market_regulator, f"{year}年度守合同重信用企业"),
                    )
                )
                day = date(year + 1, rng.randint(4, 9), rng.randint(1, 28))
                records.append(CreditRecord(kind="commendation", title=title, authority=authority, decided_on=day))
            elif roll < 0.5:
                day = decided()
                fine = rng.choice((2000, 5000, 10000, 20000))
                title = rng.choice(
                    (
                        f"未按规定公示即时信息，处罚款人民币{fine}元",
                        f"销售标签不符合规定的预包装食品，处警告并罚款人民币{fine}元",
                        f"未按规定办理变更登记，处罚款人民币{fine}元",
                    )
                )
                records.append(
                    CreditRecord(
                        kind="administrative_penalty",
                        title=title,
                        authority=p.market_regulator,
                        decided_on=day,
                        valid_until=_years_after(day, rng.choice((1, 3))),
                    )
                )
            elif roll < 0.6:
                records.append(
                    CreditRecord(
                        kind="abnormal_operation",
                        title="未按规定报送年度报告，列入经营异常名录",
                        authority=p.market_regulator,
                        decided_on=decided(),
                    )
                )
        return self.credit_details(tuple(records), code, status, subject_type)

    def credit_details(
        self, records: tuple[CreditRecord, ...], code: str, status: SubjectStatus, subject_type: SubjectType
    ) -> tuple[CreditRecord, ...]:
        """Decision numbers, repairs, licences, commitments and judgement debtors for one subject, from
        a random stream of its own (keyed by its code) so the rest of the seed stays as it was."""
        rng = random.Random(f"tongban-sandbox:{self.seed}:{self.profile.city}:credit:{code}")
        p = self.profile
        short = _city(p.city).name[0]
        serial = iter(range(rng.randint(100, 900), 10_000))

        def number(word: str, day: date) -> str:
            return f"{short}{word}〔{day.year}〕{next(serial)}号"

        words = {
            "administrative_penalty": "市监罚",
            "serious_dishonesty": "市监严违",
            "abnormal_operation": "市监异",
            "commendation": "信激",
        }
        detailed: list[CreditRecord] = []
        for record in records:
            update: dict[str, object] = {"decision_number": number(words.get(record.kind, "信"), record.decided_on)}
            # A penalty of an active subject, decided more than a year ago, is often repaired (信用修复).
            if (
                record.kind == "administrative_penalty"
                and status == "active"
                and record.decided_on < self.as_of - _YEAR
                and rng.random() < 0.5
            ):
                repaired = _day_between(rng, record.decided_on + _YEAR // 4, self.as_of - timedelta(days=7))
                update["repaired_on"] = repaired
            detailed.append(record.model_copy(update=update))
        if status != "active":
            return tuple(detailed)
        for _ in range(rng.randint(1, 2)):
            day = _day_between(rng, self.as_of - 5 * _YEAR, self.as_of - timedelta(days=20))
            title = rng.choice(("食品经营许可", "药品经营许可", "建筑施工企业安全生产许可", "建筑业企业资质"))
            detailed.append(
                CreditRecord(
                    kind="administrative_licence",
                    title=title,
                    authority=p.housing_authority if title.startswith("建筑") else p.market_regulator,
                    decided_on=day,
                    valid_until=_years_after(day, 5),
                    decision_number=number("许", day),
                )
            )
        if rng.random() < 0.4:
            day = _day_between(rng, self.as_of - 2 * _YEAR, self.as_of - timedelta(days=40))
            outcome: CommitmentOutcome | None = rng.choice(("kept", "kept", "breached", None))
            detailed.append(
                CreditRecord(
                    kind="credit_commitment",
                    title="告知承诺制办理行政许可的信用承诺",
                    authority=p.market_regulator,
                    decided_on=day,
                    decision_number=number("承诺", day),
                    commitment_outcome=outcome,
                )
            )
        if subject_type == "enterprise" and rng.random() < 0.1:
            day = _day_between(rng, self.as_of - 2 * _YEAR, self.as_of - timedelta(days=60))
            court, case = rng.randint(1, 20), rng.randint(100, 9999)
            detailed.append(
                CreditRecord(
                    kind="dishonest_judgement_debtor",
                    title="有履行能力而拒不履行生效法律文书确定义务",
                    authority=f"{_city(p.city).name}中级人民法院",
                    decided_on=day,
                    valid_until=_years_after(day, 2),
                    decision_number=f"（{day.year}）{p.province_short}{court:02d}执{case}号",
                )
            )
        return tuple(detailed)


# ---- seals and trading projects ------------------------------------------------------------------

_SEAL_AND_TRADING_CITIES: Final = {
    # city: (code prefix of its trading projects, its trading centre, its natural-resources authority)
    "shenzhen": ("SZGG", "深圳公共资源交易中心", "深圳市规划和自然资源局"),
    "zhongshan": ("ZSGZ", "中山市公共资源交易中心", "中山市自然资源局"),
    "hohhot": ("HHGZ", "呼和浩特市公共资源交易中心", "呼和浩特市自然资源局"),
}
"""The cities whose seal platform and trading centre the seed fills."""

_EXTRA_SEALS: Final[tuple[tuple[SealType, str], ...]] = (
    ("finance", "财务专用章"),
    ("contract", "合同专用章"),
    ("invoice", "发票专用章"),
    ("business", "投标专用章"),
)
_PROJECT_STATUSES: Final[tuple[TradingProjectStatus, ...]] = get_args(TradingProjectStatus)
_PROJECT_CATEGORIES: Final[tuple[TradingCategory, ...]] = get_args(TradingCategory)
_PROJECTS_PER_CITY: Final = 12
_BEIJING: Final = timezone(timedelta(hours=8))


def _seals_and_projects(
    generator: _CityGenerator, enterprises: tuple[Party, ...], subjects: tuple[CreditSubject, ...]
) -> tuple[tuple[Seal, ...], tuple[TradingProject, ...]]:
    """A city's electronic seals and trading projects, from a random stream of their own (so the rest stays put).

    Every organisation has its official seal; companies have a legal representative's seal and some
    special-purpose seals. Seals of revoked or closed organisations are revoked; of the others, one is
    suspended (挂失), one has expired and the rest are valid. Projects cover every category and status.
    """
    p = generator.profile
    if p.city not in _SEAL_AND_TRADING_CITIES:
        return (), ()
    prefix, centre, land_authority = _SEAL_AND_TRADING_CITIES[p.city]
    as_of = generator.as_of
    rng = random.Random(f"tongban-sandbox:{generator.seed}:{p.city}:seals-and-projects")
    city_name = _city(p.city).name
    makers: list[str] = []
    while len(makers) < 2:
        trade = rng.choice(_TRADE_FIRST) + rng.choice(_TRADE_MIDDLE) + rng.choice(_TRADE_LAST)
        if trade not in generator.used_names:
            generator.used_names.add(trade)
            makers.append(f"{city_name}{trade}印章制作有限公司")

    planned: list[tuple[Party, SealType, str, SubjectStatus, date]] = []
    for holder, subject in zip(enterprises, subjects, strict=True):
        kinds: list[tuple[SealType, str]] = [("official", holder.name)]
        if subject.subject_type == "enterprise":
            kinds.append(("legal_representative", f"{subject.legal_representative}印"))
            for kind, suffix in rng.sample(_EXTRA_SEALS, k=rng.randint(1, len(_EXTRA_SEALS))):
                kinds.append((kind, f"{holder.name}{suffix}"))
        established = subject.established_on or as_of - 5 * _YEAR
        for kind, name in kinds:
            planned.append((holder, kind, name, subject.status, established))
    live = [i for i, plan in enumerate(planned) if plan[3] == "active" and plan[1] != "official"]
    lapsed: dict[int, SealStatus] = dict(zip(rng.sample(live, k=2), ("suspended", "expired"), strict=True))

    seals: list[Seal] = []
    for index, (holder, kind, name, subject_status, established) in enumerate(planned):
        seal_status: SealStatus = lapsed.get(index, "valid") if subject_status == "active" else "revoked"
        earliest = max(established, as_of - 4 * _YEAR)
        if seal_status == "expired":
            valid_from = _day_between(rng, as_of - 7 * _YEAR, as_of - 5 * _YEAR - timedelta(days=5))
        else:
            valid_from = _day_between(rng, earliest, as_of - timedelta(days=20))
        seals.append(
            Seal(
                seal_code=f"{generator.region}{SANDBOX_ORG_PREFIX}{index + 1:05d}",
                name=name,
                seal_type=kind,
                holder=holder,
                status=seal_status,
                valid_from=valid_from,
                valid_until=_years_after(valid_from, 5),
                maker_name=rng.choice(makers),
                signer_certificate_serial=format(rng.randrange(1 << 124, 1 << 127), "x"),
            )
        )

    active = [holder for holder, subject in zip(enterprises, subjects, strict=True) if subject.status == "active"]
    companies = [
        holder
        for holder, subject in zip(enterprises, subjects, strict=True)
        if subject.status == "active" and subject.subject_type == "enterprise"
    ]

    def authority(name: str) -> Party:
        return Party(name=name, id_type="uscc", id_number=_authority_uscc(name, generator.region))

    projects: list[TradingProject] = []
    for index in range(_PROJECTS_PER_CITY):
        category = _PROJECT_CATEGORIES[index % len(_PROJECT_CATEGORIES)]
        project_status = _PROJECT_STATUSES[(5 * index + index // len(_PROJECT_STATUSES)) % len(_PROJECT_STATUSES)]
        company = rng.choice(companies or active)
        short = company.name.removeprefix(city_name).removesuffix("有限公司")
        budget: int | None = rng.randint(30, 9000) * 10_000 + rng.choice((0, 0, rng.randint(1, 9999)))
        tenderer = company
        if category == "construction":
            title = f"{short}{rng.choice(('厂房扩建工程施工', '办公楼装修改造工程', '配套道路及管网工程施工'))}"
        elif category == "government_procurement":
            tenderer = authority(rng.choice((p.market_regulator, p.housing_authority, p.tax_bureau)))
            title = f"{tenderer.name}{rng.choice(('信息化设备采购项目', '办公家具采购项目', '物业管理服务采购项目'))}"
        elif category == "land_use_rights":
            tenderer, budget = authority(land_authority), None
            title = (
                f"{rng.choice(p.areas)}{rng.choice('ABCDEFG')}{rng.randint(1, 30):02d}地块国有建设用地使用权挂牌出让"
            )
        elif category == "mining_rights":
            tenderer = authority(land_authority)
            title = f"{rng.choice(p.areas)}建筑用花岗岩矿采矿权出让"
        elif category == "state_property":
            title = f"{short}{rng.choice((10, 20, 35, 51))}%股权转让"
        else:
            title = f"{short}广告位经营权出让"
        if project_status == "terminated" or category in ("land_use_rights", "mining_rights"):
            evaluation_at, venue = None, None  # auctions and listings are not evaluated; a failed tender never was
        else:
            offset = {
                "announced": rng.randint(5, 25),
                "bid_opened": rng.randint(0, 1),
                "evaluating": 0,
                "candidates_publicised": -rng.randint(3, 10),
                "awarded": -rng.randint(15, 60),
            }[project_status]
            moment = time(rng.choice((9, 14)), rng.choice((0, 30)))
            evaluation_at = datetime.combine(as_of + timedelta(days=offset), moment, _BEIJING)
            venue = f"{centre}第{rng.randint(1, 12)}评标室"
        projects.append(
            TradingProject(
                project_code=f"{prefix}{as_of.year}{index + 1:05d}",
                title=title,
                category=category,
                tenderer=tenderer,
                budget_cny=budget,
                evaluation_at=evaluation_at,
                venue=venue,
                status=project_status,
            )
        )
    return tuple(seals), tuple(projects)


# ---- expert pools --------------------------------------------------------------------------------

EXPERTS_PER_CITY: Final = 42
"""Experts in each city's pool: three whose main specialty is each of the catalogue's fourteen."""


class Expert(BaseModel):
    """A bid-evaluation expert in a city's pool (评标专家库): fictional, with a valid GB 11643 number."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expert_id: str = Field(pattern=r"^[1-8]\d{5}ZJ\d{4}$", description="the pool's number, <region>ZJ<serial>")
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=18, max_length=18, description="GB 11643 resident identity number")
    specialties: tuple[str, ...] = Field(
        min_length=1, description="canonical codes, catalogs: evaluation_specialty; the first is the main one"
    )
    title: str = Field(description="professional title (职称)")
    employer: Party = Field(description="where the expert works: a company or public institution, by its USCC")
    city: str = Field(pattern=r"^[1-8]\d{5}$", description="GB/T 2260 code of the pool's city")
    available: bool = Field(description="False: suspended, on leave or otherwise not to be drawn")
    relations: tuple[ExpertRelation, ...] = Field(default=(), description="enterprises the expert declared related")
    sanctions: tuple[ExpertSanction, ...] = Field(default=(), description="recorded sanctions, past ones too")


_EXPERT_TITLES: Final[dict[str, tuple[str, ...]]] = {
    "engineering_cost": ("高级工程师（一级造价工程师）", "高级经济师"),
    "information_technology": ("高级工程师", "正高级工程师", "研究员"),
    "medical_equipment": ("高级工程师", "主任医师", "副主任医师"),
    "office_equipment": ("高级经济师", "高级工程师"),
    "property_management": ("高级经济师", "高级工程师"),
    "financial_accounting": ("高级会计师", "正高级会计师"),
    "legal_services": ("一级律师", "二级律师"),
    "land_and_minerals": ("高级工程师", "高级经济师"),
}
_ENGINEER_TITLES: Final = ("高级工程师", "正高级工程师")
_INSTITUTIONS: Final = ("建筑设计研究院", "工程咨询中心", "工程质量检测中心", "信息技术研究所")


def _expert_pool(profile: _Profile, city_seed: CitySeed, seed: int, as_of: date) -> tuple[Expert, ...]:
    """A city's expert pool, from a random stream of its own; identity numbers never repeat a person's."""
    rng = random.Random(f"tongban-sandbox:{seed}:{profile.city}:experts")
    specialties = code_table("evaluation_specialty").canonical_codes
    subjects = {subject.uscc: subject for subject in city_seed.credit_subjects}
    companies = [
        party
        for party in city_seed.enterprises
        if subjects[party.id_number].status == "active" and subjects[party.id_number].subject_type == "enterprise"
    ]
    city_name = _city(profile.city).name
    institutions = []
    for index, kind in enumerate(_INSTITUTIONS):
        trade = rng.choice(_TRADE_FIRST) + rng.choice(_TRADE_MIDDLE) + _TRADE_LAST[index]
        body = SANDBOX_ORG_PREFIX + "".join(rng.choice(USCC_CHARSET) for _ in range(6))
        code = make_uscc("1", "2", city_seed.region, body)  # 机构编制, 事业单位
        institutions.append(Party(name=f"{city_name}{trade}{kind}", id_type="uscc", id_number=code))
    used = {person.id_number for person in city_seed.persons}
    # A few experts are not to be drawn (suspended, on leave), never two of one main specialty.
    groups = len(specialties)
    unavailable = {rng.choice(range(s, EXPERTS_PER_CITY, groups)) for s in rng.sample(range(groups), k=groups // 3)}
    experts = []
    for index in range(EXPERTS_PER_CITY):
        main = specialties[index % len(specialties)]
        extra = rng.sample([s for s in specialties if s != main], k=rng.choice((0, 1, 1, 2)))
        gender: Gender = rng.choice(("male", "female"))
        birth = _day_between(rng, as_of - 64 * _YEAR, as_of - 33 * _YEAR)
        district = rng.choice(profile.person_regions)
        while True:
            number = make_resident_id(district, birth, rng.randrange(1 if gender == "male" else 0, 1000, 2))
            if number not in used:
                used.add(number)
                break
        if rng.random() < profile.mongolian_share:
            name = rng.choice(_MONGOLIAN_MALE if gender == "male" else _MONGOLIAN_FEMALE)
        else:
            name = rng.choice(_SURNAMES) + rng.choice(_GIVEN_MALE if gender == "male" else _GIVEN_FEMALE)
        experts.append(
            Expert(
                expert_id=f"{city_seed.region}ZJ{index + 1:04d}",
                name=name,
                id_number=number,
                specialties=(main, *extra),
                title=rng.choice(_EXPERT_TITLES.get(main, _ENGINEER_TITLES)),
                employer=rng.choice(institutions) if rng.random() < 0.4 else rng.choice(companies),
                city=city_seed.region,
                available=index not in unavailable,
            )
        )
    return tuple(experts)


EXPERTS_WITH_RELATIONS: Final = 4
_SANCTIONS: Final = (
    # (reason, starts this many days before as_of, lasts this many days): two in force, one over.
    ("评标过程中未按评标办法评审，暂停评标资格六个月", 40, 183),
    ("无正当理由不参加评标，暂停评标资格一年", 120, 365),
    ("评标专家年度考核不合格，通报批评", 500, 180),
)


def _avoidance_grounds(
    profile: _Profile, city_seed: CitySeed, experts: tuple[Expert, ...], seed: int, as_of: date
) -> tuple[Expert, ...]:
    """The pool's declared relations and recorded sanctions, added to experts already made, from a random
    stream of their own (so that nothing generated before moves): a few experts related to the city's
    companies, and one sanction each for as many available experts as _SANCTIONS holds, never two of one
    main specialty and never where that specialty already has an expert not to be drawn."""
    rng = random.Random(f"tongban-sandbox:{seed}:{profile.city}:expert-avoidance")
    subjects = {subject.uscc: subject for subject in city_seed.credit_subjects}
    companies = [
        party.id_number
        for party in city_seed.enterprises
        if subjects[party.id_number].status == "active" and subjects[party.id_number].subject_type == "enterprise"
    ]
    relation_kinds: tuple[ExpertRelationKind, ...] = get_args(ExpertRelationKind)
    changed = list(experts)
    for index in rng.sample(range(len(changed)), k=EXPERTS_WITH_RELATIONS):
        codes = rng.sample(
            [code for code in companies if code != changed[index].employer.id_number], k=rng.choice((1, 2))
        )
        relations = tuple(ExpertRelation(credit_code=code, relation=rng.choice(relation_kinds)) for code in codes)
        changed[index] = changed[index].model_copy(update={"relations": relations})
    groups = len(code_table("evaluation_specialty").canonical_codes)
    blocked = {index % groups for index, expert in enumerate(changed) if not expert.available}
    open_groups = rng.sample(sorted(set(range(groups)) - blocked), k=len(_SANCTIONS))
    for group, (reason, before, days) in zip(open_groups, _SANCTIONS, strict=True):
        index = rng.choice(range(group, len(changed), groups))
        starts_on = as_of - timedelta(days=before)
        sanction = ExpertSanction(reason=reason, starts_on=starts_on, ends_on=starts_on + timedelta(days=days))
        changed[index] = changed[index].model_copy(update={"sanctions": (sanction,)})
    return tuple(changed)


def generate(seed: int = DEFAULT_SEED, *, as_of: date = AS_OF) -> SeedData:
    """The sandboxes' fictional data for every city: the same seed and day always give the same data."""
    cities = []
    for profile in _profiles():
        city_seed = _CityGenerator(profile, seed, as_of).generate()
        experts = _expert_pool(profile, city_seed, seed, as_of)
        experts = _avoidance_grounds(profile, city_seed, experts, seed, as_of)
        cities.append(dataclasses.replace(city_seed, experts=experts))
    return SeedData(seed=seed, as_of=as_of, cities=tuple(cities))
