import FoundationEssentials

/// The image and tag operations of the OpenAPI document, spliced into `OpenAPIDocument.template`
/// before the service paths and schemas (the one file would be past 400 lines).
extension OpenAPIDocument {
    /// The template with the image paths and schemas in place.
    static let templateWithImages = template
        .replacing("    \"/healthz\": {", with: imagePaths + "    \"/healthz\": {")
        .replacing("      \"Readiness\": {", with: imageSchemas + "      \"Readiness\": {")
        .replacing("      \"Region\": {", with: imageComponents + "      \"Region\": {")
        .replacing("      \"Namespace\": {\"description", with: imageResponses + "      \"Namespace\": {\"description")

    static let imagePaths = #"""
    "/registry/v1/regions/{region}/images": {
      "parameters": [{"$ref": "#/components/parameters/Region"}],
      "get": {
        "operationId": "ListImages",
        "tags": ["Images"],
        "summary": "List images of the caller's namespaces in a region",
        "parameters": [
          {"$ref": "#/components/parameters/Page"},
          {"$ref": "#/components/parameters/PageSize"},
          {"$ref": "#/components/parameters/ContentOrderBy"},
          {"name": "namespace_id", "in": "query", "description": "Only images of this namespace; empty means unset.", "schema": {"$ref": "#/components/schemas/OptionalUUID"}},
          {"name": "name", "in": "query", "description": "Only the image with exactly this name.", "schema": {"type": "string"}},
          {"name": "organization_id", "in": "query", "description": "Must be the caller's organization; empty means unset.", "schema": {"$ref": "#/components/schemas/OptionalUUID"}},
          {"name": "project_id", "in": "query", "description": "Only images of this project's namespaces; empty means unset.", "schema": {"$ref": "#/components/schemas/OptionalUUID"}}
        ],
        "responses": {
          "200": {"description": "A page of images and the number of all matches.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ListImagesResponse"}}}},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/registry/v1/regions/{region}/images/{image_id}": {
      "parameters": [{"$ref": "#/components/parameters/Region"}, {"$ref": "#/components/parameters/ImageID"}],
      "get": {
        "operationId": "GetImage",
        "tags": ["Images"],
        "summary": "Get an image",
        "parameters": [{"$ref": "#/components/parameters/IfNoneMatch"}],
        "responses": {
          "200": {"$ref": "#/components/responses/Image"},
          "304": {"$ref": "#/components/responses/NotModified"},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "patch": {
        "operationId": "UpdateImage",
        "tags": ["Images"],
        "summary": "Change who may pull an image; the next registry token follows it",
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}, {"$ref": "#/components/parameters/IdempotencyKey"}],
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateImageRequest"}}}},
        "responses": {
          "200": {"$ref": "#/components/responses/Image"},
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
        "operationId": "DeleteImage",
        "tags": ["Images"],
        "summary": "Delete an image: marked deleting, its manifests deleted in the registry, then removed",
        "parameters": [{"$ref": "#/components/parameters/IfMatch"}, {"$ref": "#/components/parameters/IdempotencyKey"}],
        "responses": {
          "200": {"$ref": "#/components/responses/Image"},
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
    "/registry/v1/regions/{region}/images/{image_id}/tags": {
      "parameters": [{"$ref": "#/components/parameters/Region"}, {"$ref": "#/components/parameters/ImageID"}],
      "get": {
        "operationId": "ListTags",
        "tags": ["Images"],
        "summary": "List an image's tags",
        "parameters": [
          {"$ref": "#/components/parameters/Page"},
          {"$ref": "#/components/parameters/PageSize"},
          {"$ref": "#/components/parameters/ContentOrderBy"},
          {"name": "name", "in": "query", "description": "Only the tag with exactly this name.", "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "A page of tags and the number of all matches.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ListTagsResponse"}}}},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/registry/v1/regions/{region}/tags/{tag_id}": {
      "parameters": [
        {"$ref": "#/components/parameters/Region"},
        {"name": "tag_id", "in": "path", "required": true, "description": "The tag's id.", "schema": {"type": "string", "format": "uuid"}}
      ],
      "get": {
        "operationId": "GetTag",
        "tags": ["Images"],
        "summary": "Get a tag",
        "parameters": [{"$ref": "#/components/parameters/IfNoneMatch"}],
        "responses": {
          "200": {"$ref": "#/components/responses/Tag"},
          "304": {"$ref": "#/components/responses/NotModified"},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      },
      "delete": {
        "operationId": "DeleteTag",
        "tags": ["Images"],
        "summary": "Delete one tag, in the registry too; refused when another tag shares its digest, unless force",
        "parameters": [
          {"name": "force", "in": "query", "deprecated": true, "description": "Also delete the image's other tags on the same digest.", "schema": {"anyOf": [{"type": "boolean"}, {"const": ""}], "default": false}},
          {"$ref": "#/components/parameters/IfMatch"},
          {"$ref": "#/components/parameters/IdempotencyKey"}
        ],
        "responses": {
          "200": {"$ref": "#/components/responses/Tag"},
          "400": {"$ref": "#/components/responses/InvalidArguments"},
          "401": {"$ref": "#/components/responses/DeniedAuthentication"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "405": {"$ref": "#/components/responses/MethodNotAllowed"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "412": {"description": "Another tag of the image names the same digest and force is not true (TagInUseError), or If-Match names no ETag the tag has (PreconditionFailedError); nothing was changed.", "content": {"application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/TagInUseError"}, {"$ref": "#/components/schemas/PreconditionFailedError"}]}}}},
          "422": {"$ref": "#/components/responses/IdempotencyKeyReused"},
          "default": {"$ref": "#/components/responses/Error"}
        }
      }
    },

"""#

    static let imageSchemas = #"""
      "ImageStatus": {"type": "string", "enum": ["unknown", "ready", "deleting", "error", "locked"]},
      "ImageVisibility": {"type": "string", "enum": ["inherit", "public", "private"]},
      "ContentOrderBy": {"type": "string", "enum": ["created_at_asc", "created_at_desc", "name_asc", "name_desc", "region", "status_asc", "status_desc"], "default": "created_at_asc"},
      "Image": {
        "type": "object",
        "required": ["id", "name", "namespace_id", "status", "status_message", "visibility", "size", "created_at", "updated_at", "tags"],
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "name": {"type": "string", "description": "The repository path below the namespace."},
          "namespace_id": {"type": "string", "format": "uuid"},
          "status": {"$ref": "#/components/schemas/ImageStatus"},
          "status_message": {"type": "string"},
          "visibility": {"$ref": "#/components/schemas/ImageVisibility"},
          "size": {"type": "integer", "minimum": 0, "description": "Bytes of the distinct blobs reachable from the image's tags."},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"},
          "tags": {"type": "array", "items": {"type": "string"}}
        }
      },
      "Tag": {
        "type": "object",
        "required": ["id", "name", "image_id", "status", "digest", "created_at", "updated_at"],
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "name": {"type": "string"},
          "image_id": {"type": "string", "format": "uuid"},
          "status": {"$ref": "#/components/schemas/ImageStatus"},
          "digest": {"type": "string"},
          "created_at": {"type": "string", "format": "date-time"},
          "updated_at": {"type": "string", "format": "date-time"}
        }
      },
      "ListImagesResponse": {
        "type": "object",
        "required": ["images", "total_count"],
        "properties": {"images": {"type": "array", "items": {"$ref": "#/components/schemas/Image"}}, "total_count": {"type": "integer", "minimum": 0}}
      },
      "ListTagsResponse": {
        "type": "object",
        "required": ["tags", "total_count"],
        "properties": {"tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}}, "total_count": {"type": "integer", "minimum": 0}}
      },
      "UpdateImageRequest": {
        "type": "object",
        "properties": {"visibility": {"anyOf": [{"enum": ["visibility_unknown", "inherit", "public", "private"]}, {"type": "null"}], "description": "visibility_unknown, null or absent change nothing."}}
      },
      "TagInUseError": {
        "type": "object",
        "required": ["message", "type", "precondition", "help_message"],
        "properties": {"message": {"type": "string"}, "type": {"const": "precondition_failed"}, "precondition": {"type": "string"}, "help_message": {"type": "string"}}
      },

"""#

    static let imageComponents = #"""
      "Page": {"name": "page", "in": "query", "description": "Page to return, from 1; empty means unset.", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 2147483647}, {"const": ""}], "default": 1}},
      "PageSize": {"name": "page_size", "in": "query", "description": "Items per page; empty means unset.", "schema": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 100}, {"const": ""}], "default": 20}},
      "ContentOrderBy": {"name": "order_by", "in": "query", "description": "Sort order, ties broken by id; empty means unset.", "schema": {"anyOf": [{"$ref": "#/components/schemas/ContentOrderBy"}, {"const": ""}]}},
      "ImageID": {"name": "image_id", "in": "path", "required": true, "description": "The image's id.", "schema": {"type": "string", "format": "uuid"}},

"""#

    static let imageResponses = #"""
      "Image": {"description": "The image.", "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}, "ETag": {"$ref": "#/components/headers/ETag"}, "Idempotent-Replayed": {"$ref": "#/components/headers/Idempotent-Replayed"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Image"}}}},
      "Tag": {"description": "The tag.", "headers": {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}, "ETag": {"$ref": "#/components/headers/ETag"}, "Idempotent-Replayed": {"$ref": "#/components/headers/Idempotent-Replayed"}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tag"}}}},

"""#
}
