import FoundationEssentials
import HTTP

/// The OpenAPI 3.1 description of the API, served at `GET /registry/v1/openapi.json`.
///
/// Kept here, next to the routes it describes; `OpenAPIDocumentTests` checks that its paths and
/// methods are exactly the routes the server registers, so the two cannot drift apart.
public enum OpenAPIDocument {
    /// Where the document is served.
    public static let path = "/registry/v1/openapi.json"

    /// The document with the region parameter enumerating `regions`.
    public static func json(regions: [String]) -> String {
        let list = "[" + regions.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        return templateWithImages.replacing(defaultRegionList, with: list)
    }

    static let defaultRegionList = #"["fr-par","nl-ams","pl-waw"]"#

    static let template = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "registryd: Container Registry API (namespaces, images, tags)",
    "version": "1.0.0",
    "summary": "The namespaces of the Scaleway Container Registry API (registry v1), served from PostgreSQL.",
    "description": "Compatible with the official Scaleway SDKs, the scw CLI and the Terraform provider. Every response is JSON with Content-Type application/json and carries X-Request-Id.",
    "license": {"name": "Proprietary", "identifier": "LicenseRef-Proprietary"}
  },
  "servers": [{"url": "/"}],
  "security": [{"ApiKey": []}],
  "tags": [{"name": "Namespaces"}, {"name": "Images"}, {"name": "Service"}],
  "paths": {
    "/registry/v1/regions/{region}/namespaces": {
      "parameters": [{"$ref": "#/components/parameters/Region"}],
      "get": {
        "operationId": "ListNamespaces",
        "tags": ["Namespaces"],
        "summary": "List namespaces of the caller's organization in a region",
        "parameters": [
          {"name": "page", "in": "query", "description": "Page to return, from 1; empty means unset.", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 2147483647}, {"const": ""}], "default": 1}},
          {"name": "page_size", "in": "query", "description": "Namespaces per page; empty means unset.", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100}, {"const": ""}], "default": 20}},
          {"name": "order_by", "in": "query", "description": "Sort order, ties broken by id; empty means unset.", "schema": {"anyOf": [{"$ref": "#/components/schemas/ListNamespacesOrderBy"}, {"const": ""}]}},
          {"name": "organization_id", "in": "query", "description": "Must be the caller's organization; empty means unset.", "schema": {"$ref": "#/components/schemas/OptionalUUID"}},
          {"name": "project_id", "in": "query", "description": "Only namespaces of this project; empty means unset.", "schema": {"$ref": "#/components/schemas/OptionalUUID"}},
          {"name": "name", "in": "query", "description": "Only the namespace with exactly this name.", "schema": {"type": "string"}},
          {"name": "page_token", "in": "query", "description": "Not in the Scaleway API (its clients need not know it): continue a listing after the page that answered this X-Next-Page-Token, by seeking in the order's index rather than skipping (page - 1) * page_size rows, so deep pages cost what page 1 does, and a walk by tokens returns every namespace that exists throughout it exactly once despite concurrent creates and deletes (in created_at, name and region orders; in description or status order a namespace whose key changes during the walk may be skipped or repeated). order_by and page may be omitted (the token's are used) or must repeat the token's; filters and page_size may change. A token that does not parse is 400 format, one of another organization or region 400 constraint, on page_token.", "schema": {"type": "string", "maxLength": 2048, "pattern": "^[A-Za-z0-9_-]*$"}}
        ],
        "responses": {
          "200": {"description": "A page of namespaces and the number of all matches.", "headers": {"X-Next-Page-Token": {"$ref": "#/components/headers/X-Next-Page-Token"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ListNamespacesResponse"}}}},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "post": {
        "operationId": "CreateNamespace",
        "tags": ["Namespaces"],
        "summary": "Create a namespace",
        "parameters": [{"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateNamespaceRequest"}}}},
        "responses": {
          "200": {"$ref": "#/components/responses/Namespace"},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "422": {"$ref": "#/components/responses/IdempotencyKeyReused"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/registry/v1/regions/{region}/namespaces/{namespace_id}": {
      "parameters": [
        {"$ref": "#/components/parameters/Region"},
        {"name": "namespace_id", "in": "path", "required": true, "description": "The namespace's id.", "schema": {"type": "string", "format": "uuid"}}
      ],
      "get": {
        "operationId": "GetNamespace",
        "tags": ["Namespaces"],
        "summary": "Get a namespace",
        "parameters": [{"$ref": "#/components/parameters/IfNoneMatch"}],
        "responses": {
          "200": {"$ref": "#/components/responses/Namespace"},
          "304": {"$ref": "#/components/responses/NotModified"},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "UpdateNamespace",
        "tags": ["Namespaces"],
        "summary": "Change a namespace's description or visibility",
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}, {"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateNamespaceRequest"}}}},
        "responses": {
          "200": {"$ref": "#/components/responses/Namespace"},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "412": {"$ref": "#/components/responses/PreconditionFailed"},
          "413": {"$ref": "#/components/responses/PayloadTooLarge"},
          "422": {"$ref": "#/components/responses/IdempotencyKeyReused"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "operationId": "DeleteNamespace",
        "tags": ["Namespaces"],
        "summary": "Delete a namespace: it is marked deleting, then removed within a second",
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}, {"$ref": "#/components/parameters/IdempotencyKey"}],
        "responses": {
          "200": {"$ref": "#/components/responses/Namespace"},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "412": {"$ref": "#/components/responses/PreconditionFailed"},
          "422": {"$ref": "#/components/responses/IdempotencyKeyReused"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/healthz": {
      "get": {
        "operationId": "Health",
        "tags": ["Service"],
        "summary": "Liveness: the process answers",
        "security": [],
        "responses": {
          "200": {"description": "Alive.", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    },
    "/readyz": {
      "get": {
        "operationId": "Readiness",
        "tags": ["Service"],
        "summary": "Readiness, from a background probe: writes and reads reach the database and its schema is the one this build expects",
        "security": [],
        "responses": {
          "200": {"description": "Ready.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
          "503": {"description": "Not ready; checks say why.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "Metrics",
        "tags": ["Service"],
        "summary": "Prometheus metrics (text exposition format 0.0.4)",
        "security": [],
        "responses": {
          "200": {"description": "Requests, latency, pool, database errors, build info.", "content": {"text/plain": {"schema": {"type": "string"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    },
    "/registry/v1/openapi.json": {
      "get": {
        "operationId": "GetOpenAPIDocument",
        "tags": ["Service"],
        "summary": "This document",
        "security": [],
        "responses": {
          "200": {"description": "The OpenAPI document.", "content": {"application/json": {"schema": {"type": "object"}}}},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Auth-Token", "description": "The secret key of an API key (a UUID)."}
    },
    "parameters": {
      "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "description": "Makes the write safe to retry (draft-ietf-httpapi-idempotency-key-header): a retry with the same key and the same request (method, path, body) within 24 h gets the first successful response again, with Idempotent-Replayed: true, without running again. Keys belong to the caller's organization; 1 to 255 printable ASCII characters, bare or as a quoted Structured Field string. Only successful responses are stored: a refused request may be retried with its key.", "schema": {"type": "string", "minLength": 1, "maxLength": 257, "pattern": "^(\"[!#-\\[\\]-~]([ !#-\\[\\]-~]{0,253}[!#-\\[\\]-~])?\"|[!#-\\[\\]-~]([ !#-\\[\\]-~]{0,253}[!#-\\[\\]-~])?)$"}},
      "IfMatch": {"name": "If-Match", "in": "header", "description": "Apply the write only while the resource's (namespace's, image's or tag's) ETag is one of these (strong comparison; * matches any); otherwise 412.", "schema": {"type": "string"}},
      "IfNoneMatch": {"name": "If-None-Match", "in": "header", "description": "Answer 304 without a body when the resource's (namespace's, image's or tag's) ETag is one of these (weak comparison; * matches any).", "schema": {"type": "string"}},
      "Region": {"name": "region", "in": "path", "required": true, "description": "One of the regions the service is configured for.", "schema": {"type": "string", "enum": ["fr-par","nl-ams","pl-waw"]}}
    },
    "headers": {
      "ETag": {"description": "The resource's strong entity tag: changes with every change of the namespace, image (a push's new tag or size included) or tag. Send it back in If-Match or If-None-Match.", "schema": {"type": "string"}},
      "Idempotent-Replayed": {"description": "true on a response given again for a retried Idempotency-Key; absent when the request ran.", "schema": {"const": "true"}},
      "X-Next-Page-Token": {"description": "Present when the page is full (it holds page_size namespaces): an opaque token that page_token takes to list the next page by keyset continuation. Its absence ends a walk.", "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}},
      "X-Request-Id": {"description": "The caller's request id when it sent a sane one, else a new UUID.", "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
    },
    "responses": {
      "Namespace": {"description": "The namespace.", "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}, "ETag": {"$ref": "#/components/headers/ETag"}, "Idempotent-Replayed": {"$ref": "#/components/headers/Idempotent-Replayed"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Namespace"}}}},
      "InvalidArguments": {"description": "An argument is missing, malformed or out of range; every bad argument is listed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/InvalidArgumentsError"}}}},
      "DeniedAuthentication": {"description": "The token is missing, malformed, unknown, revoked or expired.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeniedAuthenticationError"}}}},
      "Forbidden": {"description": "Not allowed (a filter on another organization), or the namespace quota is reached.", "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/PermissionsDeniedError"}, {"$ref": "#/components/schemas/QuotasExceededError"}]}}}},
      "NotFound": {"description": "No such namespace, image or tag (or one of another organization), or no such route.", "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/NotFoundError"}, {"$ref": "#/components/schemas/Error"}]}}}},
      "MethodNotAllowed": {"description": "The path exists, not for this method.", "headers": {"Allow": {"required": true, "schema": {"type": "string"}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "The name is taken in the region, the namespace or image is being deleted, or another request with the same Idempotency-Key is running (idempotency_key_in_use, with Retry-After: 1).", "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/ConflictError"}, {"$ref": "#/components/schemas/TransientStateError"}, {"$ref": "#/components/schemas/IdempotencyKeyInUseError"}]}}}},
      "NotModified": {"description": "If-None-Match names the resource's current ETag: no body.", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}},
      "PreconditionFailed": {"description": "If-Match names no ETag the resource (namespace, image or tag) has: it changed since the caller read it; nothing was changed.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PreconditionFailedError"}}}},
      "IdempotencyKeyReused": {"description": "The Idempotency-Key was used within 24 h for another request (method, path or body differ).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IdempotencyKeyReusedError"}}}},
      "PayloadTooLarge": {"description": "The body is larger than 64 KiB.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Error": {"description": "The database is unavailable (503, retry) or an unexpected failure (500).", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Readiness": {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
          "status": {"enum": ["ready", "unavailable"]},
          "checks": {"type": "object", "required": ["database", "reads", "schema", "probe"], "properties": {"database": {"type": "string"}, "reads": {"type": "string"}, "schema": {"type": "string"}, "probe": {"type": "string"}}},
          "age_ms": {"type": "integer", "description": "Age of the probe result answered."}
        }
      },
      "OptionalUUID": {"description": "A UUID; the empty string means unset.", "anyOf": [{"type": "string", "format": "uuid"}, {"const": ""}]},
      "NamespaceStatus": {"type": "string", "enum": ["unknown", "ready", "deleting", "error", "locked"]},
      "ListNamespacesOrderBy": {"type": "string", "enum": ["created_at_asc", "created_at_desc", "name_asc", "name_desc", "description_asc", "description_desc", "region", "status_asc", "status_desc"], "default": "created_at_asc"},
      "Namespace": {
        "type": "object",
        "required": ["id", "name", "description", "organization_id", "project_id", "status", "status_message", "endpoint", "is_public", "size", "created_at", "updated_at", "image_count", "region"],
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "name": {"type": "string"},
          "description": {"type": "string"},
          "organization_id": {"type": "string", "format": "uuid"},
          "project_id": {"type": "string", "format": "uuid"},
          "status": {"$ref": "#/components/schemas/NamespaceStatus"},
          "status_message": {"type": "string"},
          "endpoint": {"type": "string", "description": "The registry host of the region, a slash, the name."},
          "is_public": {"type": "boolean"},
          "size": {"type": "integer", "minimum": 0, "description": "Bytes held by the namespace's images."},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"},
          "image_count": {"type": "integer", "minimum": 0},
          "region": {"type": "string"}
        }
      },
      "ListNamespacesResponse": {
        "type": "object",
        "required": ["namespaces", "total_count"],
        "properties": {
          "namespaces": {"type": "array", "items": {"$ref": "#/components/schemas/Namespace"}},
          "total_count": {"type": "integer", "minimum": 0, "description": "Every match, not only this page."}
        }
      },
      "CreateNamespaceRequest": {
        "type": "object",
        "required": ["name"],
        "not": {
          "description": "project_id and organization_id (deprecated) are exclusive.",
          "required": ["project_id", "organization_id"],
          "properties": {"project_id": {"type": "string", "minLength": 1}, "organization_id": {"type": "string", "minLength": 1}}
        },
        "properties": {
          "name": {"type": "string", "minLength": 4, "maxLength": 54, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$", "description": "Unique within the region."},
          "description": {"anyOf": [{"type": "string", "maxLength": 255, "pattern": "^[^\\u0000]*$"}, {"type": "null"}], "default": ""},
          "is_public": {"type": ["boolean", "null"], "default": false},
          "project_id": {"anyOf": [{"$ref": "#/components/schemas/OptionalUUID"}, {"type": "null"}], "description": "Project to create the namespace in; give this or organization_id, not both. A project known to belong to another organization, or other than the key's for a project-scoped key, is 403."},
          "organization_id": {"anyOf": [{"$ref": "#/components/schemas/OptionalUUID"}, {"type": "null"}], "deprecated": true, "description": "The caller's organization; the namespace goes to its default project (403 for a key scoped to another project)."}
        }
      },
      "UpdateNamespaceRequest": {
        "type": "object",
        "properties": {
          "description": {"anyOf": [{"type": "string", "maxLength": 255, "pattern": "^[^\\u0000]*$"}, {"type": "null"}]},
          "is_public": {"type": ["boolean", "null"]}
        }
      },
      "Error": {
        "type": "object",
        "required": ["message", "type"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"}}
      },
      "InvalidArgumentsError": {
        "type": "object",
        "required": ["message", "type", "details"],
        "properties": {
          "message": {"const": "invalid argument(s)"},
          "type": {"const": "invalid_arguments"},
          "details": {
            "type": "array",
            "minItems": 1,
            "items": {
              "type": "object",
              "required": ["argument_name", "reason", "help_message"],
              "properties": {
                "argument_name": {"type": "string"},
                "reason": {"enum": ["required", "format", "constraint", "unknown"]},
                "help_message": {"type": "string"}
              }
            }
          }
        }
      },
      "NotFoundError": {
        "type": "object",
        "required": ["message", "type", "resource", "resource_id"],
        "properties": {"message": {"const": "resource is not found"}, "type": {"const": "not_found"}, "resource": {"type": "string"}, "resource_id": {"type": "string"}}
      },
      "ConflictError": {
        "type": "object",
        "required": ["message", "type", "resource"],
        "properties": {"message": {"const": "resource already exists"}, "type": {"const": "conflict"}, "resource": {"type": "string"}, "help_message": {"type": "string"}}
      },
      "TransientStateError": {
        "type": "object",
        "required": ["message", "type", "resource", "resource_id", "current_state"],
        "properties": {"message": {"const": "resource is in a transient state"}, "type": {"const": "transient_state"}, "resource": {"type": "string"}, "resource_id": {"type": "string"}, "current_state": {"type": "string"}}
      },
      "PreconditionFailedError": {
        "type": "object",
        "required": ["message", "type", "resource", "resource_id"],
        "properties": {"message": {"const": "precondition failed"}, "type": {"const": "precondition_failed"}, "resource": {"type": "string"}, "resource_id": {"type": "string"}, "help_message": {"type": "string"}}
      },
      "IdempotencyKeyReusedError": {
        "type": "object",
        "required": ["message", "type"],
        "properties": {"message": {"const": "idempotency key already used for another request"}, "type": {"const": "idempotency_key_reused"}, "help_message": {"type": "string"}}
      },
      "IdempotencyKeyInUseError": {
        "type": "object",
        "required": ["message", "type"],
        "properties": {"message": {"const": "a request with this idempotency key is in progress"}, "type": {"const": "idempotency_key_in_use"}, "help_message": {"type": "string"}}
      },
      "DeniedAuthenticationError": {
        "type": "object",
        "required": ["message", "type", "method", "reason"],
        "properties": {"message": {"const": "authentication is denied"}, "type": {"const": "denied_authentication"}, "method": {"const": "api_key"}, "reason": {"enum": ["invalid_argument", "not_found", "expired"]}}
      },
      "PermissionsDeniedError": {
        "type": "object",
        "required": ["message", "type", "details"],
        "properties": {
          "message": {"const": "insufficient permissions"},
          "type": {"const": "permissions_denied"},
          "details": {"type": "array", "items": {"type": "object", "required": ["resource", "action"], "properties": {"resource": {"type": "string"}, "action": {"type": "string"}}}}
        }
      },
      "QuotasExceededError": {
        "type": "object",
        "required": ["message", "type", "details"],
        "properties": {
          "message": {"const": "quota(s) exceeded for this resource"},
          "type": {"const": "quotas_exceeded"},
          "details": {"type": "array", "items": {"type": "object", "required": ["resource", "quota", "current"], "properties": {"resource": {"type": "string"}, "quota": {"type": "integer"}, "current": {"type": "integer"}}}}
        }
      }
    }
  }
}
"""#
}
