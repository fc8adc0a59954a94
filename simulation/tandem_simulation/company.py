"""A simulated company, deterministic from a seed: who works where, at which level, under whom, what
they can teach and want to learn, when they are free, and how they will behave in the program.

Pure: no I/O. The skills vocabulary is enrollment's (`GET /vocabulary/skills`), passed in.

>>> vocabulary = [Skill("generative_ai", "ai"), Skill("negotiation", "communication"), ...]
>>> company = generate_company(2_000, seed=7, vocabulary=vocabulary)
>>> company.employees[0].enrollment(["ai", "career"])   # a body for enrollment's import
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEPARTMENTS",
    "OBJECTIVES",
    "SITES",
    "Behaviour",
    "Company",
    "Employee",
    "Site",
    "Skill",
    "generate_company",
]


@dataclass(frozen=True, slots=True)
class Skill:
    """A vocabulary entry: its code and its area (enrollment's `SkillArea`)."""

    code: str
    area: str


@dataclass(frozen=True, slots=True)
class Site:
    city: str
    country: str
    time_zone: str
    languages: tuple[str, ...]  # the local language first
    weight: int  # share of the headcount


# Sites far apart on purpose: Sydney and Montréal share no working hour.
SITES: tuple[Site, ...] = (
    Site("Paris", "FR", "Europe/Paris", ("fr", "en"), 30),
    Site("Lyon", "FR", "Europe/Paris", ("fr", "en"), 10),
    Site("London", "GB", "Europe/London", ("en",), 12),
    Site("Madrid", "ES", "Europe/Madrid", ("es", "en"), 8),
    Site("Berlin", "DE", "Europe/Berlin", ("de", "en"), 8),
    Site("Montréal", "CA", "America/Toronto", ("fr", "en"), 8),
    Site("New York", "US", "America/New_York", ("en",), 10),
    Site("São Paulo", "BR", "America/Sao_Paulo", ("pt", "en"), 5),
    Site("Bangalore", "IN", "Asia/Kolkata", ("en",), 5),
    Site("Singapore", "SG", "Asia/Singapore", ("en",), 2),
    Site("Sydney", "AU", "Australia/Sydney", ("en",), 2),
)
DEPARTMENTS: tuple[tuple[str, int], ...] = (
    ("Sales", 18),
    ("Operations", 16),
    ("IT", 12),
    ("Finance", 10),
    ("Marketing", 9),
    ("Customer Service", 9),
    ("Research", 8),
    ("Human Resources", 6),
    ("Legal", 4),
    ("Procurement", 4),
    ("Communication", 4),
)
# The program's objectives: (code, title, theme).
OBJECTIVES: tuple[tuple[str, str, str], ...] = (
    ("ai", "Use AI assistants day to day", "ai"),
    ("tools", "Get fluent with collaboration tools", "digital_tools"),
    ("visibility", "Build a professional presence online", "professional_social_networks"),
    ("ways-of-working", "Try agile and asynchronous work", "new_work_methods"),
    ("inclusion", "Work across generations and cultures", "diversity_inclusion"),
    ("career", "Understand careers and networks inside the company", "communication"),
)
# What juniors mostly offer (and seniors want), and what seniors offer back.
JUNIOR_AREAS = ("ai", "digital_tools", "social_networks", "new_work_methods", "inclusion")
SENIOR_AREAS = ("leadership", "communication", "industry_knowledge")
_JUNIOR_OBJECTIVES = ("career", "inclusion", "ways-of-working")
_SENIOR_OBJECTIVES = ("ai", "tools", "visibility", "ways-of-working")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
_FIRST = [
    "Ada",
    "Amina",
    "Bruno",
    "Camille",
    "Chen",
    "Chloé",
    "Diego",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Inès",
    "Jonas",
    "Karim",
    "Léa",
    "Lucas",
    "Maya",
    "Mehdi",
    "Nadia",
    "Noah",
    "Olga",
    "Pablo",
    "Priya",
    "Quentin",
    "Rosa",
    "Sami",
    "Sofia",
    "Theo",
    "Ulla",
    "Victor",
    "Wei",
    "Yasmine",
    "Zoé",
    "Aurélien",
    "Beatriz",
    "Kenji",
    "Fatou",
    "Arjun",
    "Lena",
    "Mateo",
    "Hana",
    "Oscar",
    "Leila",
    "Ravi",
    "Ines",
    "Tomás",
    "Mei",
    "Jakob",
    "Aisha",
]
_LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Nguyen",
    "Rossi",
    "García",
    "Müller",
    "Haddad",
    "Kowalski",
    "Okafor",
    "Lefebvre",
    "Moreau",
    "Fontaine",
    "Sato",
    "Silva",
    "Petit",
    "Laurent",
    "Costa",
    "Jansen",
    "Diallo",
    "Morel",
    "Girard",
    "Andersen",
    "Leroy",
    "Bakker",
    "Smith",
    "Patel",
    "Kim",
    "Tan",
    "Schmidt",
    "Santos",
    "Iyer",
]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How a person acts in the program; each is a probability the play draws against."""

    withdraws: bool = False  # leaves before the pairing round
    declines: bool = False  # declines the proposal made to them
    misses: float = 0.0  # chance of not showing up at a session
    cancels_repeatedly: bool = False  # cancels their sessions, again and again
    not_a_good_fit: bool = False  # says their pair is not a good fit
    asks_erasure: bool = False  # asks to be erased at the end
    gives_feedback: float = 0.8  # chance of rating a held session
    adopts_practices: float = 0.05  # chance, each week, of declaring a new practice
    answers_survey: float = 0.7


@dataclass(frozen=True, slots=True)
class Employee:
    employee_id: str
    name: str
    role: str  # junior or senior (of the program)
    department: str
    site: Site
    job_level: int  # 1 (entry) to 9 (executive)
    years_in_company: float
    manager_id: str | None
    languages: tuple[str, ...]
    skills_offered: tuple[tuple[str, int], ...]
    skills_wanted: tuple[tuple[str, int], ...]
    objectives: tuple[str, ...]
    availability: tuple[tuple[str, str, str], ...]  # (weekday, start, end) in their own time zone
    meeting_preference: str
    behaviour: Behaviour = field(default_factory=Behaviour)

    @property
    def login(self) -> str:
        """Their account at the development OpenID provider."""
        return f"employee-{self.employee_id.lower()}"

    def enrollment(self) -> dict[str, Any]:
        """Their enrollment as enrollment's import takes it (one JSON line)."""
        first, _, last = self.name.partition(" ")
        return {
            "employee_id": self.employee_id,
            "role": self.role,
            "consent": True,
            "display_name": self.name,
            "email": f"{first}.{last}.{self.employee_id}@example.com".lower().replace(" ", ""),
            "department": self.department,
            "site": self.site.city,
            "country": self.site.country,
            "time_zone": self.site.time_zone,
            "job_level": self.job_level,
            "years_in_company": self.years_in_company,
            "languages": list(self.languages),
            "skills_offered": [{"skill": skill, "level": level} for skill, level in self.skills_offered],
            "skills_wanted": [{"skill": skill, "level": level} for skill, level in self.skills_wanted],
            "objectives": list(self.objectives),
            "availability": [{"weekday": day, "start": start, "end": end} for day, start, end in self.availability],
            "meeting_preference": self.meeting_preference,
        }


@dataclass(frozen=True, slots=True)
class Company:
    seed: int
    employees: tuple[Employee, ...]

    @property
    def languages(self) -> list[str]:
        return sorted({language for person in self.employees for language in person.languages})

    def by_id(self) -> dict[str, Employee]:
        return {person.employee_id: person for person in self.employees}

    def summary(self) -> dict[str, Any]:
        """Headcounts by role, site and department, and how many behave in each way."""
        people = self.employees
        return {
            "employees": len(people),
            "roles": dict(Counter(person.role for person in people)),
            "sites": dict(Counter(person.site.city for person in people)),
            "departments": dict(Counter(person.department for person in people)),
            "withdraw": sum(person.behaviour.withdraws for person in people),
            "decline": sum(person.behaviour.declines for person in people),
            "cancel_repeatedly": sum(person.behaviour.cancels_repeatedly for person in people),
            "not_a_good_fit": sum(person.behaviour.not_a_good_fit for person in people),
            "ask_erasure": sum(person.behaviour.asks_erasure for person in people),
        }


def _popularity(skills: Sequence[Skill], rng: random.Random) -> list[float]:
    """Zipf-like weights: a few skills everyone names (generative AI, negotiation), a long tail."""
    ranks = list(range(1, len(skills) + 1))
    rng.shuffle(ranks)
    return [1.0 / rank for rank in ranks]


def _pick(
    rng: random.Random, skills: Sequence[Skill], weights: Sequence[float], count: int, levels: tuple[int, int]
) -> tuple[tuple[str, int], ...]:
    chosen: dict[str, int] = {}
    while len(chosen) < min(count, len(skills)):
        skill = rng.choices(skills, weights)[0]
        chosen.setdefault(skill.code, rng.randint(*levels))
    return tuple(sorted(chosen.items()))


def _availability(rng: random.Random) -> tuple[tuple[str, str, str], ...]:
    days = sorted(rng.sample(range(len(_WEEKDAYS)), rng.randint(2, 4)))
    windows = []
    for day in days:
        start = rng.choice((8, 9, 10, 11, 13, 14, 15, 16))
        windows.append((_WEEKDAYS[day], f"{start:02d}:00", f"{min(start + rng.choice((1, 2, 3)), 19):02d}:00"))
    return tuple(windows)


def _behaviour(rng: random.Random, role: str) -> Behaviour:
    return Behaviour(
        withdraws=rng.random() < 0.03,
        declines=rng.random() < 0.06,
        misses=rng.choice((0.0, 0.0, 0.0, 0.05, 0.1, 0.3)),
        cancels_repeatedly=rng.random() < 0.04,
        not_a_good_fit=rng.random() < 0.04,
        asks_erasure=rng.random() < 0.01,
        gives_feedback=rng.choice((0.5, 0.8, 0.95, 1.0)),
        adopts_practices=0.08 if role == "senior" else 0.03,
        answers_survey=rng.choice((0.5, 0.8, 1.0)),
    )


def _manager(rng: random.Random, by_level: dict[tuple[str, int], list[str]], department: str, level: int) -> str | None:
    """Someone of the nearest level above, in the department if it has one, else anywhere."""
    for above in range(level + 1, 10):
        if found := by_level.get((department, above)):
            return rng.choice(found)
    for above in range(level + 1, 10):
        anywhere = [e for (_, at), group in by_level.items() if at == above for e in group]
        if anywhere:
            return rng.choice(anywhere)
    return None


def generate_company(size: int, *, seed: int, vocabulary: Sequence[Skill]) -> Company:
    """`size` employees who volunteer for the program: juniors (levels 1-4, under 8 years) and seniors
    (levels 5-9), spread over sites and departments, each with a manager above them (one each, in
    their department when there is one), the same seed giving the same company."""
    rng = random.Random(seed)
    junior_skills = [skill for skill in vocabulary if skill.area in JUNIOR_AREAS]
    senior_skills = [skill for skill in vocabulary if skill.area in SENIOR_AREAS]
    if not junior_skills or not senior_skills:
        raise ValueError("the vocabulary needs digital/AI/social skills and leadership/domain skills")
    junior_weights, senior_weights = _popularity(junior_skills, rng), _popularity(senior_skills, rng)
    sites, site_weights = list(SITES), [site.weight for site in SITES]
    departments, department_weights = [name for name, _ in DEPARTMENTS], [weight for _, weight in DEPARTMENTS]
    # Levels: a pyramid, the executives few.
    levels = [rng.choices(range(1, 10), (16, 18, 16, 12, 12, 10, 8, 5, 3))[0] for _ in range(size)]
    order = sorted(range(size), key=lambda n: -levels[n])  # managers first
    people: dict[int, Employee] = {}
    by_level: dict[tuple[str, int], list[str]] = {}  # (department, level) -> who is there
    for n in order:
        employee_id = f"E{10001 + n:05d}"
        level = levels[n]
        department = rng.choices(departments, department_weights)[0]
        site = rng.choices(sites, site_weights)[0]
        manager = _manager(rng, by_level, department, level)
        by_level.setdefault((department, level), []).append(employee_id)
        role = "junior" if level <= 4 else "senior"
        # Most share English; some speak only their site's language.
        languages = site.languages if rng.random() < 0.9 else site.languages[:1]
        if role == "junior":
            offered = _pick(rng, junior_skills, junior_weights, rng.randint(2, 4), (3, 5))
            wanted = _pick(rng, senior_skills, senior_weights, rng.randint(1, 3), (1, 3))
            objectives = tuple(sorted(rng.sample(_JUNIOR_OBJECTIVES, 2)))
            years = round(rng.uniform(0.3, 7.5), 1)
        else:
            offered = _pick(rng, senior_skills, senior_weights, rng.randint(2, 4), (3, 5))
            wanted = _pick(rng, junior_skills, junior_weights, rng.randint(1, 3), (1, 3))
            objectives = tuple(sorted(rng.sample(_SENIOR_OBJECTIVES, 2)))
            years = round(rng.uniform(6, 35), 1)
        people[n] = Employee(
            employee_id=employee_id,
            name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
            role=role,
            department=department,
            site=site,
            job_level=level,
            years_in_company=years,
            manager_id=manager,
            languages=languages,
            skills_offered=offered,
            skills_wanted=wanted,
            objectives=objectives,
            availability=_availability(rng),
            meeting_preference=rng.choice(("remote", "remote", "either", "in_person")),
            behaviour=_behaviour(rng, role),
        )
    return Company(seed=seed, employees=tuple(people[n] for n in range(size)))
