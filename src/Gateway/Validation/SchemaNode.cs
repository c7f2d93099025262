using System.Text;
using System.Text.Json;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// A draft-07 schema compiled for <see cref="FastPathValidator"/>: only the keywords the Talkdesk
/// schemas use (<c>type</c>, <c>properties</c>, <c>required</c>, boolean <c>additionalProperties</c>,
/// single-schema <c>items</c>, and annotations). A schema with any other keyword does not compile and
/// its events always take JsonSchema.Net's path.
/// </summary>
internal sealed class SchemaNode
{
    private static readonly HashSet<string> Annotations = new(StringComparer.Ordinal)
    {
        "$schema", "$id", "$comment", "title", "description", "default", "examples",
    };

    private SchemaNode()
    {
    }

    public JsonTypes Types { get; private set; } = JsonTypes.Any;

    /// <summary>Declared property names, UTF-8, in declaration order (at most 64).</summary>
    public byte[][] PropertyNames { get; private set; } = [];

    public SchemaNode[] PropertySchemas { get; private set; } = [];

    /// <summary>One bit per declared property that is required.</summary>
    public ulong RequiredMask { get; private set; }

    /// <summary>True unless <c>additionalProperties</c> is <c>false</c>.</summary>
    public bool AdditionalPropertiesAllowed { get; private set; } = true;

    public SchemaNode? Items { get; private set; }

    /// <summary>The compiled schema, or null when it uses a keyword the fast path does not implement.</summary>
    public static SchemaNode? TryCompile(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var node = new SchemaNode();
        var required = new List<string>();
        foreach (var keyword in schema.EnumerateObject())
        {
            switch (keyword.Name)
            {
                case "type":
                    if (!TryTypes(keyword.Value, out var types))
                    {
                        return null;
                    }

                    node.Types = types;
                    break;
                case "properties":
                    if (keyword.Value.ValueKind != JsonValueKind.Object)
                    {
                        return null;
                    }

                    var names = new List<byte[]>();
                    var schemas = new List<SchemaNode>();
                    foreach (var property in keyword.Value.EnumerateObject())
                    {
                        if (TryCompile(property.Value) is not { } child)
                        {
                            return null;
                        }

                        names.Add(Encoding.UTF8.GetBytes(property.Name));
                        schemas.Add(child);
                    }

                    if (names.Count > 64)
                    {
                        return null;
                    }

                    node.PropertyNames = [.. names];
                    node.PropertySchemas = [.. schemas];
                    break;
                case "required":
                    if (keyword.Value.ValueKind != JsonValueKind.Array)
                    {
                        return null;
                    }

                    foreach (var name in keyword.Value.EnumerateArray())
                    {
                        if (name.ValueKind != JsonValueKind.String)
                        {
                            return null;
                        }

                        required.Add(name.GetString()!);
                    }

                    break;
                case "additionalProperties":
                    if (keyword.Value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        return null;
                    }

                    node.AdditionalPropertiesAllowed = keyword.Value.ValueKind == JsonValueKind.True;
                    break;
                case "items":
                    if (TryCompile(keyword.Value) is not { } items)
                    {
                        return null;
                    }

                    node.Items = items;
                    break;
                default:
                    if (!Annotations.Contains(keyword.Name))
                    {
                        return null;
                    }

                    break;
            }
        }

        foreach (var name in required)
        {
            var index = Array.FindIndex(node.PropertyNames, n => n.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(name)));
            if (index < 0)
            {
                // Required but undeclared: possible in draft-07, not handled by the fast path.
                return null;
            }

            node.RequiredMask |= 1UL << index;
        }

        return node;
    }

    private static bool TryTypes(JsonElement value, out JsonTypes types)
    {
        types = JsonTypes.None;
        if (value.ValueKind == JsonValueKind.String)
        {
            return TryType(value.GetString(), ref types);
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !TryType(item.GetString(), ref types))
            {
                return false;
            }
        }

        return types != JsonTypes.None;
    }

    private static bool TryType(string? name, ref JsonTypes types)
    {
        var type = name switch
        {
            "object" => JsonTypes.Object,
            "array" => JsonTypes.Array,
            "string" => JsonTypes.String,
            "number" => JsonTypes.Number,
            "integer" => JsonTypes.Integer,
            "boolean" => JsonTypes.Boolean,
            "null" => JsonTypes.Null,
            _ => JsonTypes.None,
        };
        types |= type;
        return type != JsonTypes.None;
    }
}
