"""`StrictJSONRoute`: JSON bodies validated strictly, once — the value validated strictly is what
the route receives (FastAPI does not parse and validate the body a second time, laxly)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Body, FastAPI
from pydantic import BaseModel, field_validator
from tandem_kernel.strict import StrictJSONRoute

validations = {"count": 0}


class Order(BaseModel):
    quantity: int
    note: str = ""

    @field_validator("quantity")
    @classmethod
    def counted(cls, quantity: int) -> int:
        validations["count"] += 1
        return quantity


router = APIRouter(route_class=StrictJSONRoute)


@router.post("/orders")
async def place(order: Order) -> dict[str, Any]:
    return {"type": type(order).__name__, **order.model_dump()}


@router.post("/pairs")
async def pair(first: Annotated[Order, Body()], second: Annotated[Order, Body()]) -> dict[str, int]:
    return {"total": first.quantity + second.quantity}


@pytest.fixture
async def http() -> Any:
    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_a_valid_body_is_validated_once_and_reaches_the_route_as_its_model(http: httpx.AsyncClient) -> None:
    validations["count"] = 0

    answer = await http.post("/orders", json={"quantity": 3, "note": "asap"})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"type": "Order", "quantity": 3, "note": "asap"}
    assert validations["count"] == 1


async def test_what_lax_validation_would_coerce_is_refused_with_the_field(http: httpx.AsyncClient) -> None:
    answer = await http.post("/orders", json={"quantity": "3"})

    assert answer.status_code == 422
    assert [error["loc"] for error in answer.json()["detail"]] == [["body", "quantity"]]


async def test_bodies_embedded_under_their_names_are_still_read_by_name(http: httpx.AsyncClient) -> None:
    answer = await http.post("/pairs", json={"first": {"quantity": 1}, "second": {"quantity": 2}})
    refused = await http.post("/pairs", json={"first": {"quantity": 1}, "second": {"quantity": True}})

    assert (answer.status_code, answer.json()) == (200, {"total": 3})
    assert refused.status_code == 422
