using System.Text;
using OcpTalkdesk.Gateway.Validation;

namespace OcpTalkdesk.Gateway.Tests.Validation;

public sealed class SchemaLoaderTests
{
    private static Json.Schema.JsonSchema Load(string text) =>
        SchemaLoader.Parse(Encoding.UTF8.GetBytes(text), new Uri("file:///etc/gateway/test.schema.json"), "test.schema.json", out _);

    private static bool Valid(Json.Schema.JsonSchema schema, string instance) =>
        EventValidator.ValidateDocument(Encoding.UTF8.GetBytes(instance), schema).IsValid;

    [Fact]
    public void A_shipped_schema_loads_and_compiles_for_the_fast_path()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "schemas", "message_created.schema.json");

        var schema = SchemaLoader.Load(path, out var fastPath);

        Assert.NotNull(schema);
        Assert.NotNull(fastPath);
    }

    [Theory]
    [InlineData("{\"type\": 12}", "not a valid draft-07 schema")]
    [InlineData("{\"required\": \"name\"}", "not a valid draft-07 schema")]
    [InlineData("{\"minLength\": -1}", "not a valid draft-07 schema")]
    [InlineData("{\"type\": \"strng\"}", "not a valid draft-07 schema")]
    [InlineData("42", "not a JSON Schema")]
    [InlineData("{\"a\": 1, \"a\": 2}", "not valid JSON")]
    [InlineData("{\"$schema\": \"http://json-schema.org/draft-04/schema#\"}", "does not support")]
    public void A_file_that_is_not_a_schema_is_refused_saying_why(string text, string why)
    {
        var error = Assert.Throws<SchemaLoadException>(() => Load(text));

        Assert.Contains("test.schema.json", error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"properties\": {\"a\": {\"$ref\": \"#/definitions/missing\"}}}")]
    [InlineData("{\"definitions\": {\"x\": {}}, \"anyOf\": [{\"$ref\": \"#/definitions/x/not/here\"}]}")]
    [InlineData("{\"$ref\": \"#no-such-anchor\"}")]
    public void A_ref_that_does_not_resolve_is_refused_at_load(string text)
    {
        var error = Assert.Throws<SchemaLoadException>(() => Load(text));

        Assert.Contains("does not resolve", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"$ref\": \"https://schemas.example.com/event.json\"}")]
    [InlineData("{\"properties\": {\"a\": {\"$ref\": \"other.schema.json#/definitions/a\"}}}")]
    public void A_remote_ref_is_refused_and_never_fetched(string text)
    {
        var error = Assert.Throws<SchemaLoadException>(() => Load(text));

        Assert.Contains("never fetched over the network", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Local_refs_anchors_ids_and_the_draft_07_meta_schema_resolve()
    {
        var schema = Load("""
            {
              "definitions": {
                "name": { "$id": "#name", "type": "string" },
                "node": { "type": "object", "properties": { "next": { "$ref": "#/definitions/node" } } }
              },
              "properties": {
                "a": { "$ref": "#/definitions/name" },
                "b": { "$ref": "#name" },
                "c": { "$ref": "#/definitions/node" },
                "d": { "$ref": "http://json-schema.org/draft-07/schema#" }
              }
            }
            """);

        Assert.True(Valid(schema, """{"a":"x","b":"y","c":{"next":{"next":{}}},"d":{"type":"string"}}"""));
        Assert.False(Valid(schema, """{"b":1}"""));
        Assert.False(Valid(schema, """{"c":{"next":5}}"""));
        Assert.False(Valid(schema, """{"d":{"type":12}}"""));
    }

    [Fact]
    public void Draft_07_is_assumed_without_schema_and_2020_12_is_honoured_when_declared()
    {
        // draft-07: an array "items" is a tuple; 2020-12 spells that prefixItems.
        var draft7 = Load("""{"items":[{"type":"string"}]}""");
        var draft2020 = Load("""{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}]}""");

        Assert.False(Valid(draft7, "[1]"));
        Assert.True(Valid(draft7, "[\"a\", 1]"));
        Assert.False(Valid(draft2020, "[1]"));
    }

    [Fact]
    public void Boolean_schemas_and_subschemas_follow_the_standard()
    {
        var schema = Load("""{"properties":{"internal":false,"open":true}}""");

        Assert.True(Valid(schema, """{"open":1}"""));
        Assert.False(Valid(schema, """{"internal":1}"""));
        Assert.False(Valid(Load("false"), "{}"));
        Assert.True(Valid(Load("true"), "[1,2]"));
    }

    [Fact]
    public void Reloading_a_schema_with_the_same_id_works()
    {
        const string Text = """{"$id":"https://example.com/event.schema.json","type":"object"}""";

        _ = Load(Text);
        var again = Load(Text);

        Assert.True(Valid(again, "{}"));
    }

    [Fact]
    public void A_reference_that_only_fails_while_evaluating_is_a_schema_error_not_a_crash()
    {
        // Passes the load-time check (the anchor exists) but JsonSchema.Net cannot resolve it.
        var schema = Load("""{"allOf":[{"$ref":"http://localhost:1234/bar#foo"}],"definitions":{"A":{"$id":"http://localhost:1234/bar#foo","type":"integer"}}}""");

        var verdict = EventValidator.ValidateDocument("1"u8.ToArray(), schema);

        Assert.Equal(VerdictKind.SchemaError, verdict.Kind);
        Assert.False(verdict.IsValid);
    }
}
