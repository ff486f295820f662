"""Request bodies decoded strictly into their msgspec struct.

Litestar converts a handler's ``data`` in msgspec's lax mode, where the string
``"1000"`` becomes the integer 1000 and the string ``"null"`` becomes ``None``
(so ``{"metadata": "null"}`` would clear metadata). A secret store should do
exactly what the client wrote or refuse it, so the API's routers use this DTO:
it decodes the raw body in strict mode, and a body that does not fit is
``400 invalid_argument`` naming the field. The OpenAPI schema is the struct's.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from litestar.dto import AbstractDTO
from litestar.typing import FieldDefinition

from core.validation import invalid
from web.api.fields import decode_custom

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator
    from litestar.dto.data_structures import DTOFieldDefinition
    from litestar.openapi.spec import Reference, Schema


class StrictBody(AbstractDTO[Any]):
    # The body type of each handler, by handler id (as Litestar's own DTOs keep theirs).
    _body_types: ClassVar[dict[str, Any]] = {}

    @classmethod
    def create_for_field_definition(
        cls,
        field_definition: FieldDefinition,
        handler_id: str,
        backend_cls: Any = None,
    ) -> None:
        cls._body_types[handler_id] = field_definition.annotation

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: SchemaCreator
    ) -> Reference | Schema:
        body = FieldDefinition.from_annotation(
            cls._body_types[handler_id], kwarg_definition=field_definition.kwarg_definition
        )
        result = schema_creator.for_field_definition(body)
        # What Litestar's struct schema leaves out: unknown fields are refused
        # (forbid_unknown_fields), and what a struct adds in ``openapi_extra``.
        for struct in _structs(body):
            schema = schema_creator.schema_registry.get_schema_for_field_definition(
                FieldDefinition.from_annotation(struct)
            )
            if struct.__struct_config__.forbid_unknown_fields:
                schema.additional_properties = False
            for key, value in getattr(struct, "openapi_extra", {}).items():
                setattr(schema, key, value)
        return result

    @classmethod
    def is_supported_model_type_field(cls, field_definition: FieldDefinition) -> bool:
        # Never used for responses: they are plain structs Litestar encodes itself.
        return False

    def decode_bytes(self, value: bytes) -> Any:
        body_type = self._body_types[self.asgi_connection.route_handler.handler_id]
        try:
            return msgspec.json.decode(value, type=body_type, strict=True, dec_hook=decode_custom)
        except msgspec.ValidationError as exc:
            raise invalid(f"request body: {exc}") from None
        except msgspec.DecodeError as exc:
            raise invalid(f"request body is not valid JSON: {exc}") from None
        except RecursionError:
            raise invalid("request body is nested too deeply") from None

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        raise invalid("the API accepts JSON bodies only")

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        raise NotImplementedError("StrictBody decodes whole structs; it has no field definitions")

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False


def _structs(field: FieldDefinition) -> list[type[msgspec.Struct]]:
    """The struct types of a body annotation (``X`` or ``X | None``)."""
    candidates = field.inner_types if field.is_optional else (field,)
    return [c.annotation for c in candidates if c.is_subclass_of(msgspec.Struct)]
