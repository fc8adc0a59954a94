"""A simulated company that plays a Tandem program through the public HTTP APIs (`tandem simulate`)."""

from tandem_simulation.company import Behaviour, Company, Employee, Skill, generate_company
from tandem_simulation.truth import GroundTruth

__all__ = ["Behaviour", "Company", "Employee", "GroundTruth", "Skill", "generate_company"]
