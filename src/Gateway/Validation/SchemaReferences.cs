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
        var references = new List<(KeywordData Keyword, JsonSchemaNode Node)>();
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
                    // A $ref's subschema is its (lazily built) target: walked where it is declared.
                    references.Add((keyword, node));
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

        // Every identifier the file declares, made absolute against every base URI in it: a $ref to
        // one of these is local even where the library registers it only when first evaluated.
        var bases = new HashSet<Uri>(seen.Select(n => n.BaseUri)) { schema.BaseUri };
        var identifiers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in Identifiers(document))
        {
            foreach (var baseUri in bases)
            {
                if (Uri.TryCreate(baseUri, id, out var absolute))
                {
                    identifiers.Add(WithoutFragment(absolute));
                }
            }
        }

        foreach (var (keyword, node) in references)
        {
            Check(keyword, node, registry, document, identifiers, name);
        }
    }

    private static string WithoutFragment(Uri uri)
    {
        var text = uri.AbsoluteUri;
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        return hash < 0 ? text : text[..hash];
    }

    private static IEnumerable<string> Identifiers(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.NameEquals("$id") && property.Value.ValueKind == JsonValueKind.String)
                {
                    yield return property.Value.GetString()!;
                }

                foreach (var nested in Identifiers(property.Value))
                {
                    yield return nested;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var nested in Identifiers(item))
                {
                    yield return nested;
                }
            }
        }
    }

    private static void Check(KeywordData keyword, JsonSchemaNode node, Json.Schema.SchemaRegistry registry, JsonElement document,
        HashSet<string> identifiers, string name)
    {
        var raw = keyword.RawValue.ValueKind == JsonValueKind.String ? keyword.RawValue.GetString()! : keyword.RawValue.GetRawText();
        if (keyword.Value is not Uri target && !Uri.TryCreate(node.BaseUri, raw, out target!))
        {
            throw new SchemaLoadException($"the schema file '{name}' has a \"$ref\" that is not a URI reference: \"{raw}\".");
        }

        var resource = new Uri(WithoutFragment(target));
        var baseDocument = registry.Get(resource);
        if (baseDocument is null && identifiers.Contains(resource.AbsoluteUri))
        {
            // Declared in the file but registered by the library only lazily: JsonSchema.Net decides
            // when it evaluates (a failure then refuses the event, never forwards it).
            return;
        }

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
