using System.Globalization;
using System.Text.Json;
using Json.Schema;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Reads a schema file and makes sure it can be trusted before an event meets it: strict JSON, a
/// dialect the gateway knows (draft-07 unless <c>$schema</c> names draft-06, 2019-09 or 2020-12), valid
/// against that dialect's meta-schema, and every <c>$ref</c> resolving inside the file (schemas are
/// never fetched over the network). JsonSchema.Net builds references lazily and would only fail on
/// the first event that reaches a broken one, so <see cref="SchemaReferences"/> checks them here.
/// </summary>
internal static class SchemaLoader
{
    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false, MaxDepth = 256 };

    private static readonly EvaluationOptions MetaValidation = new()
    {
        OutputFormat = OutputFormat.List,
        Culture = CultureInfo.InvariantCulture,
    };

    /// <summary>The schema in <paramref name="path"/>, or a <see cref="SchemaLoadException"/> saying why not.</summary>
    public static JsonSchema Load(string path, out SchemaNode? fastPath)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SchemaLoadException($"cannot read the schema file '{path}': {ex.Message}", ex);
        }

        return Parse(bytes, new Uri(path, UriKind.Absolute), path, out fastPath);
    }

    /// <summary>Builds a schema from its bytes; <paramref name="name"/> is how messages refer to it.</summary>
    public static JsonSchema Parse(ReadOnlyMemory<byte> bytes, Uri baseUri, string name, out SchemaNode? fastPath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes, StrictJson);
        }
        catch (JsonException ex)
        {
            throw new SchemaLoadException($"the schema file '{name}' is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
            {
                throw new SchemaLoadException($"the schema file '{name}' is not a JSON Schema: it must be an object or a boolean, not {root.ValueKind.ToString().ToLowerInvariant()}.");
            }

            var (dialect, metaSchema) = DialectOf(root, name);
            var meta = metaSchema.Evaluate(root, MetaValidation);
            if (!meta.IsValid)
            {
                throw new SchemaLoadException($"the schema file '{name}' is not a valid {DialectName(dialect)} schema: {FirstMetaError(meta)}");
            }

            // A registry of its own per load: the global one refuses a second schema with the same
            // $id (every reload would fail), and fetching is switched off so nothing is downloaded.
            var registry = new Json.Schema.SchemaRegistry { Fetch = static (_, _) => null };
            var options = new BuildOptions { Dialect = dialect, SchemaRegistry = registry };
            JsonSchema schema;
            try
            {
                // Build keeps its own copy of the elements it needs; the document can go.
                schema = JsonSchema.Build(root.Clone(), options, baseUri);
            }
            catch (JsonSchemaException ex)
            {
                throw new SchemaLoadException($"the schema file '{name}' is not a valid {DialectName(dialect)} schema: {ex.Message}", ex);
            }

            SchemaReferences.EnsureResolvable(schema, registry, root, name);
            fastPath = SchemaNode.TryCompile(root);
            return schema;
        }
    }

    private static (Dialect Dialect, JsonSchema MetaSchema) DialectOf(JsonElement root, string name)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("$schema", out var declared))
        {
            return (Dialect.Draft07, MetaSchemas.Draft7);
        }

        var id = declared.ValueKind == JsonValueKind.String ? declared.GetString()!.TrimEnd('#') : null;
        return id switch
        {
            "http://json-schema.org/draft-07/schema" or "https://json-schema.org/draft-07/schema" => (Dialect.Draft07, MetaSchemas.Draft7),
            "http://json-schema.org/draft-06/schema" or "https://json-schema.org/draft-06/schema" => (Dialect.Draft06, MetaSchemas.Draft6),
            "https://json-schema.org/draft/2019-09/schema" => (Dialect.Draft201909, MetaSchemas.Draft201909),
            "https://json-schema.org/draft/2020-12/schema" => (Dialect.Draft202012, MetaSchemas.Draft202012),
            _ => throw new SchemaLoadException(
                $"the schema file '{name}' declares \"$schema\": {declared.GetRawText()}, which this gateway does not support; use draft-07 (\"http://json-schema.org/draft-07/schema#\"), draft-06, 2019-09 or 2020-12, or leave \"$schema\" out for draft-07."),
        };
    }

    private static string DialectName(Dialect dialect) =>
        dialect == Dialect.Draft06 ? "draft-06"
        : dialect == Dialect.Draft201909 ? "2019-09"
        : dialect == Dialect.Draft202012 ? "2020-12"
        : "draft-07";

    private static string FirstMetaError(EvaluationResults results)
    {
        foreach (var node in Flatten(results))
        {
            if (!node.IsValid && node.Errors is { Count: > 0 } errors)
            {
                foreach (var (keyword, message) in errors)
                {
                    var at = node.InstanceLocation.ToString();
                    return $"at '{(at.Length == 0 ? "/" : at)}' ({(keyword.Length == 0 ? "false" : keyword)}): {message}";
                }
            }
        }

        return "it does not match the meta-schema.";
    }

    private static IEnumerable<EvaluationResults> Flatten(EvaluationResults results)
    {
        yield return results;
        if (results.Details is { } details)
        {
            foreach (var detail in details)
            {
                foreach (var nested in Flatten(detail))
                {
                    yield return nested;
                }
            }
        }
    }
}
