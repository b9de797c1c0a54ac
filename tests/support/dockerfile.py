"""The Dockerfile read as Docker reads it: build arguments, stages and their instructions.

No Docker engine is needed (nor on these machines); the tests check the file's promises against
this reading: the stages, the pinned base image and uv, the runtime's user, its HEALTHCHECK.
"""

import json
import re
import shlex
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"


class Instruction:
    def __init__(self, keyword: str, arguments: str) -> None:
        self.keyword = keyword.upper()
        self.arguments = arguments

    def exec_form(self) -> list[str]:
        """The arguments of a JSON-array (exec form) instruction, after any --flags before it."""
        array = self.arguments[self.arguments.index("[") :]
        parsed = json.loads(array)
        assert isinstance(parsed, list), self.arguments
        return [str(part) for part in parsed]

    def flags(self) -> dict[str, str]:
        """--name=value options at the start (COPY --from=builder, HEALTHCHECK --interval=10s)."""
        found = {}
        for token in self.arguments.split():
            if not token.startswith("--"):
                break
            name, _, value = token[2:].partition("=")
            found[name] = value
        return found

    def operands(self) -> list[str]:
        """The words after the --flags (COPY's sources and destination)."""
        words = shlex.split(self.arguments)
        return [word for word in words if not word.startswith("--")]


class Stage:
    def __init__(self, base: str, name: str | None) -> None:
        self.base = base
        self.name = name
        self.instructions: list[Instruction] = []

    def all(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for pair in shlex.split(instruction.arguments):
                name, _, value = pair.partition("=")
                values[name] = value
        return values


def instructions(text: str) -> list[Instruction]:
    """Every instruction, with continued lines joined and comments left out."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    parsed = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            parsed.append(Instruction(keyword, arguments.strip()))
    return parsed


def stages(text: str | None = None) -> tuple[dict[str, str], list[Stage]]:
    """The build arguments declared before the first FROM (with their defaults) and the stages,
    each FROM's image with those arguments filled in."""
    build_args: dict[str, str] = {}
    found: list[Stage] = []
    for instruction in instructions(DOCKERFILE.read_text() if text is None else text):
        if instruction.keyword == "ARG" and not found:
            name, _, default = instruction.arguments.partition("=")
            build_args[name] = default
        elif instruction.keyword == "FROM":
            words = instruction.arguments.split()
            base = re.sub(r"\$\{(\w+)\}", lambda match: build_args[match[1]], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(base, name))
        else:
            assert found or instruction.keyword == "ARG", f"{instruction.keyword} before the first FROM"
            if found:
                found[-1].instructions.append(instruction)
    return build_args, found
