"""CloudFormation intrinsic functions, resolved against the local physical resources.

`Resolver.resolve(value, where)` evaluates `Ref`, `Fn::GetAtt`, `Fn::Sub` (both forms),
`Fn::Join`, `Fn::If` (with the template's Conditions: `Fn::Equals`, `Fn::Not`, `Fn::And`,
`Fn::Or`, `Condition`), `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::Base64` and
`Fn::GetAZs`. `AWS::NoValue` removes the key or list item that holds it. Resources are looked up
through a `ResourceLookup` (the deployment); anything unknown is a `TemplateError` whose message
starts with where it was found, e.g. `Resources.Fn.Properties.Environment.Variables.X`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from .clients import ACCOUNT_ID
from .template import Template, TemplateError, as_string_list, intrinsic_call


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class ResourceLookup(Protocol):
    """Physical values of the template's resources (implemented by the deployment)."""

    def ref(self, logical_id: str, where: str) -> Any: ...

    def get_att(self, logical_id: str, attribute: str, where: str) -> Any: ...


class _NoResources:
    """Lookup used before anything is provisioned: only parameters and pseudo parameters."""

    def ref(self, logical_id: str, where: str) -> Any:
        raise TemplateError(f"{where}: Ref {logical_id} needs the provisioned resources")

    def get_att(self, logical_id: str, attribute: str, where: str) -> Any:
        raise TemplateError(f"{where}: GetAtt {logical_id}.{attribute} needs the resources")


def referenced_ids(value: Any) -> set[str]:
    """Logical ids (or parameter names) that `value` refers to, for ordering resources."""
    call = intrinsic_call(value)
    if call is not None:
        name, args = call
        if name == "Ref" and isinstance(args, str):
            return {args}
        if name == "Fn::GetAtt" and isinstance(args, list) and args:
            return {str(args[0])}
        if name == "Fn::Sub":
            text = args[0] if isinstance(args, list) else args
            found = {
                variable.split(".", 1)[0]
                for variable in _SUB_VARIABLE.findall(text if isinstance(text, str) else "")
                if not variable.startswith("!")
            }
            return found | (referenced_ids(args[1]) if isinstance(args, list) else set())
    if isinstance(value, dict):
        return set().union(*(referenced_ids(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(referenced_ids(item) for item in value))
    return set()


class Resolver:
    """Evaluates intrinsic functions for one stack (name, region) and its resources."""

    def __init__(
        self,
        template: Template,
        *,
        stack_name: str,
        region: str,
        resources: ResourceLookup | None = None,
    ) -> None:
        self.template = template
        self.resources: ResourceLookup = resources or _NoResources()
        self.pseudo_parameters: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        self._conditions: dict[str, bool] = {}
        self._functions: dict[str, Callable[[Any, str], Any]] = {
            "Ref": self._ref,
            "Fn::GetAtt": self._get_att,
            "Fn::Sub": self._sub,
            "Fn::Join": self._join,
            "Fn::If": self._if,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::FindInMap": self._find_in_map,
            "Fn::Base64": self._base64,
            "Fn::GetAZs": self._get_azs,
        }

    @property
    def region(self) -> str:
        return str(self.pseudo_parameters["AWS::Region"])

    @property
    def stack_name(self) -> str:
        return str(self.pseudo_parameters["AWS::StackName"])

    # -- values ---------------------------------------------------------------------

    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic evaluated; may return NO_VALUE."""
        call = intrinsic_call(value)
        if call is not None:
            name, args = call
            function = self._functions.get(name)
            if function is None:
                raise TemplateError(f"{where}: unsupported intrinsic function {name}")
            return function(args, f"{where}.{name}")
        if isinstance(value, dict):
            resolved = {key: self.resolve(item, f"{where}.{key}") for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{index}]") for index, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        return value

    def resolve_text(self, value: Any, where: str) -> str:
        resolved = self.resolve(value, where)
        if isinstance(resolved, dict | list) or resolved is NO_VALUE:
            raise TemplateError(f"{where}: expected a string, got {resolved!r}")
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        return str(resolved)

    def parameter_value(self, name: str, where: str) -> Any:
        parameter = self.template.parameters[name]
        value = self.template.parameter_overrides.get(name, parameter.default)
        if value is None:
            raise TemplateError(f"{where}: parameter {name} has no Default and no override")
        if parameter.type == "CommaDelimitedList" or parameter.type.startswith("List<"):
            return as_string_list(value)
        return str(value) if not isinstance(value, str) else value

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise TemplateError(f"{where}: Ref takes a name, got {name!r}")
        if name in self.template.parameters:
            return self.parameter_value(name, where)
        if name in self.pseudo_parameters:
            return self.pseudo_parameters[name]
        return self.resources.ref(name, where)

    def _get_att(self, args: Any, where: str) -> Any:
        if isinstance(args, str):
            args = args.split(".", 1)
        if not isinstance(args, list) or len(args) != 2:
            raise TemplateError(f"{where}: expected [LogicalId, Attribute], got {args!r}")
        logical_id, attribute = args[0], self.resolve_text(args[1], where)
        return self.resources.get_att(str(logical_id), attribute, where)

    def _sub(self, args: Any, where: str) -> str:
        text, variables = (args[0], args[1]) if isinstance(args, list) else (args, {})
        if not isinstance(text, str) or not isinstance(variables, dict):
            raise TemplateError(f"{where}: expected a string or [string, {{variables}}]")

        def substitute(match: re.Match[str]) -> str:
            variable = match.group(1)
            if variable.startswith("!"):  # ${!Literal} is written out as ${Literal}
                return "${" + variable[1:] + "}"
            if variable in variables:
                return self.resolve_text(variables[variable], f"{where}.{variable}")
            if "." in variable and not variable.startswith("AWS::"):
                logical_id, attribute = variable.split(".", 1)
                value = self.resources.get_att(logical_id, attribute, where)
            else:
                value = self._ref(variable, where)
            if isinstance(value, list | dict) or value is NO_VALUE:
                raise TemplateError(f"{where}: ${{{variable}}} is not a string")
            return str(value)

        return _SUB_VARIABLE.sub(substitute, text)

    def _join(self, args: Any, where: str) -> str:
        if not isinstance(args, list) or len(args) != 2:
            raise TemplateError(f"{where}: expected [delimiter, [values]]")
        items = self.resolve(args[1], where)
        if not isinstance(items, list):
            raise TemplateError(f"{where}: the values to join are not a list")
        return str(args[0]).join(self.resolve_text(item, where) for item in items)

    def _if(self, args: Any, where: str) -> Any:
        if not isinstance(args, list) or len(args) != 3:
            raise TemplateError(f"{where}: expected [condition, value if true, value if false]")
        chosen = args[1] if self.condition(str(args[0]), where) else args[2]
        return self.resolve(chosen, where)

    def _select(self, args: Any, where: str) -> Any:
        if not isinstance(args, list) or len(args) != 2:
            raise TemplateError(f"{where}: expected [index, [values]]")
        index = int(self.resolve_text(args[0], where))
        items = self.resolve(args[1], where)
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise TemplateError(f"{where}: index {index} out of {items!r}")
        return items[index]

    def _split(self, args: Any, where: str) -> list[str]:
        if not isinstance(args, list) or len(args) != 2:
            raise TemplateError(f"{where}: expected [delimiter, string]")
        return self.resolve_text(args[1], where).split(str(args[0]))

    def _find_in_map(self, args: Any, where: str) -> Any:
        if not isinstance(args, list) or len(args) != 3:
            raise TemplateError(f"{where}: expected [map, top-level key, second-level key]")
        keys = [self.resolve_text(item, where) for item in args]
        try:
            return self.template.mappings[keys[0]][keys[1]][keys[2]]
        except KeyError:
            raise TemplateError(f"{where}: no mapping {'.'.join(keys)}") from None

    def _base64(self, args: Any, where: str) -> str:
        return base64.b64encode(self.resolve_text(args, where).encode()).decode()

    def _get_azs(self, args: Any, where: str) -> list[str]:
        region = self.resolve_text(args, where) or self.region
        return [f"{region}{zone}" for zone in "abc"]

    # -- conditions -----------------------------------------------------------------

    def condition(self, name: str, where: str) -> bool:
        """The value of a condition of the template's Conditions section."""
        if name not in self._conditions:
            if name not in self.template.conditions:
                raise TemplateError(f"{where}: no condition named {name}")
            self._conditions[name] = self._evaluate(
                self.template.conditions[name], f"Conditions.{name}"
            )
        return self._conditions[name]

    def _evaluate(self, expression: Any, where: str) -> bool:
        call = intrinsic_call(expression)
        if call is None:
            raise TemplateError(f"{where}: expected Fn::Equals, Fn::Not, Fn::And, Fn::Or")
        name, args = call
        if name == "Condition":
            return self.condition(str(args), where)
        if name == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
            left, right = (self.resolve(item, f"{where}.{name}") for item in args)
            return bool(_comparable(left) == _comparable(right))
        if not isinstance(args, list):
            raise TemplateError(f"{where}.{name}: expected a list")
        operands = [self._evaluate(item, f"{where}.{name}") for item in args]
        operators: Mapping[str, Callable[[list[bool]], bool]] = {
            "Fn::Not": lambda values: not values[0],
            "Fn::And": all,
            "Fn::Or": any,
        }
        if name not in operators:
            raise TemplateError(f"{where}: unsupported condition function {name}")
        return operators[name](operands)


def _comparable(value: Any) -> Any:
    # Fn::Equals compares the string forms: `!Equals [!Ref Count, 1]` holds for "1".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value
