"""Typed results: ``run(prompt, output_type=Model)`` returns a validated pydantic object.

    python examples/typed_output.py

The model is asked for JSON matching the model's schema (strict structured outputs); an answer
that does not validate is sent back with what was wrong, at most ``output_retries`` times. Without
OPENAI_API_KEY a scripted model on the local server answers badly once, then correctly.
"""

from __future__ import annotations

import os

import anyio
from pydantic import BaseModel

from responses_fast import AgentSession
from responses_fast.server import serve


class Trip(BaseModel):
    city: str
    days: int
    highlights: list[str]


SCRIPT = [
    ["Paris for three days sounds lovely!"],  # not JSON: it goes back to the model
    ['{"city": "Paris", "days": 3, "highlights": ["Louvre", "Montmartre"]}'],
]


async def plan(model: str, base_url: str | None) -> None:
    async with AgentSession(model, base_url=base_url) as session:
        result = await session.run("Plan a short trip to Paris.", output_type=Trip)
    trip: Trip = result.output
    print(f"{trip.days} days in {trip.city}: {', '.join(trip.highlights)}")
    print(f"({len(result.turns)} model calls; the first answer was not valid JSON)")


async def main() -> None:
    if os.environ.get("OPENAI_API_KEY"):
        await plan(os.environ.get("MODEL", "gpt-5.5"), None)
        return
    async with serve(SCRIPT) as server:
        print(f"no OPENAI_API_KEY: scripted model on the local server {server.base_url}")
        await plan("scripted", server.base_url)


if __name__ == "__main__":
    anyio.run(main)
