"""Validates JSON documents against a schema of OpenAI's published OpenAPI file.

Usage: validate_openai.py OPENAPI_JSON SCHEMA_NAME FILE...
Each FILE holds one JSON document. Exit 0 when all validate; otherwise prints,
per failing file, the JSON path and the reason, and exits 1.
"""
import json
import sys

import jsonschema


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    openapi_path, schema_name, files = argv[0], argv[1], argv[2:]
    with open(openapi_path, encoding="utf-8") as f:
        document = json.load(f)
    if schema_name not in document.get("components", {}).get("schemas", {}):
        print("no schema named %s in %s" % (schema_name, openapi_path), file=sys.stderr)
        return 2
    # The OpenAPI 3.1 document is the referrer, so every "#/components/..." ref
    # inside the named schema resolves against it.
    resolver = jsonschema.RefResolver(base_uri="", referrer=document)
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/" + schema_name}, resolver=resolver)
    failed = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            instance = json.load(f)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        for error in errors:
            failed += 1
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            print("%s: %s at %s: %s" % (path, schema_name, where, error.message[:300]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
