using System.Text.Json;
using Json.Pointer;
using Json.Schema;
using Json.Schema.Keywords;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Checks, when a schema is loaded, that every <c>$ref</c> resolves inside the file (or to a
/// meta-schema the library ships). Written here because JsonSchema.Net resolves references lazily,
/// on the first instance that reaches them: a typo in a rarely used branch would otherwise surface as
/// a failed event in production instead of a refused configuration.
/// </summary>
internal static class SchemaReferences
{
    public static void EnsureResolvable(JsonSchema schema, Json.Schema.SchemaRegistry registry, JsonElement document, string name)
    {
        var seen = new HashSet<JsonSchemaNode>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<JsonSchemaNode>();
        pending.Push(schema.Root);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (!seen.Add(node))
            {
                continue;
            }

            foreach (var keyword in node.Keywords)
            {
                if (keyword.Handler is RefKeyword)
                {
                    Check(keyword, node, registry, document, name);
                    // A $ref's subschema is its (lazily built) target: walked where it is declared.
                    continue;
                }

                if (keyword.Subschemas is { } subschemas)
                {
                    foreach (var subschema in subschemas)
                    {
                        pending.Push(subschema);
                    }
                }
            }
        }
    }

    private static void Check(KeywordData keyword, JsonSchemaNode node, Json.Schema.SchemaRegistry registry, JsonElement document, string name)
    {
        var raw = keyword.RawValue.ValueKind == JsonValueKind.String ? keyword.RawValue.GetString()! : keyword.RawValue.GetRawText();
        if (keyword.Value is not Uri target && !Uri.TryCreate(node.BaseUri, raw, out target!))
        {
            throw new SchemaLoadException($"the schema file '{name}' has a \"$ref\" that is not a URI reference: \"{raw}\".");
        }

        var resource = new Uri(target.GetLeftPart(UriPartial.Query));
        var baseDocument = registry.Get(resource);
        if (baseDocument is null)
        {
            throw new SchemaLoadException(
                $"the schema file '{name}' has \"$ref\": \"{raw}\", which points outside the file ({resource}); schemas are never fetched over the network, so put the referenced schema under \"definitions\" in the same file.");
        }

        var fragment = Uri.UnescapeDataString(target.Fragment.TrimStart('#'));
        if (fragment.Length == 0)
        {
            return;
        }

        if (fragment[0] == '/')
        {
            if (!JsonPointer.TryParse(fragment, out var pointer) || baseDocument.FindSubschema(pointer, BuildContext.From(keyword)) is null)
            {
                throw new SchemaLoadException($"the schema file '{name}' has \"$ref\": \"{raw}\", which does not resolve: nothing in the schema is at '{fragment}'.");
            }

            return;
        }

        if (!HasAnchor(document, fragment))
        {
            throw new SchemaLoadException($"the schema file '{name}' has \"$ref\": \"{raw}\", which does not resolve: no subschema declares the anchor '{fragment}'.");
        }
    }

    /// <summary>A plain-name fragment: draft-07's <c>"$id": "#name"</c> or 2019-09's <c>"$anchor": "name"</c>.</summary>
    private static bool HasAnchor(JsonElement element, string anchor)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String
                        && ((property.NameEquals("$id") && property.Value.GetString()!.EndsWith("#" + anchor, StringComparison.Ordinal))
                            || ((property.NameEquals("$anchor") || property.NameEquals("$dynamicAnchor")) && property.Value.ValueEquals(anchor))))
                    {
                        return true;
                    }

                    if (HasAnchor(property.Value, anchor))
                    {
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (HasAnchor(item, anchor))
                    {
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }
}
