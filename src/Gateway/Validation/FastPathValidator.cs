using System.Text.Json;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Answers "certainly valid" for an event in one allocation-free pass over its bytes, so the common
/// case (a valid event) never builds a document. It is written here because no served validator
/// works on <see cref="Utf8JsonReader"/> without allocating (JsonSchema.Net costs several µs and KB
/// per event, see docs/decisions). It only ever says yes or "not sure": anything it does not fully
/// understand — an undeclared or repeated member, a long or fractional number where an integer is
/// wanted — goes to JsonSchema.Net, which decides and explains every rejection. A differential
/// property test (FastPathDifferentialTests) checks it against JsonSchema.Net on generated schemas.
/// </summary>
internal static class FastPathValidator
{
    /// <summary>Longer numbers are left to JsonSchema.Net, which reads them exactly.</summary>
    private const int MaxNumberLength = 15;

    /// <summary>True only when the (syntax-checked, UTF-8 valid) body certainly matches <paramref name="schema"/>.</summary>
    public static bool IsCertainlyValid(ReadOnlySpan<byte> utf8, SchemaNode schema)
    {
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = StrictJson.MaxDepth });
        try
        {
            return reader.Read() && Value(ref reader, schema);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool Value(ref Utf8JsonReader reader, SchemaNode schema)
    {
        var types = schema.Types;
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                return (types & JsonTypes.Object) != 0 && Object(ref reader, schema);
            case JsonTokenType.StartArray:
                return (types & JsonTypes.Array) != 0 && schema.Items is { } items && Array(ref reader, items);
            case JsonTokenType.String:
                return (types & JsonTypes.String) != 0;
            case JsonTokenType.Number:
                var number = reader.ValueSpan;
                if (number.Length > MaxNumberLength || reader.HasValueSequence)
                {
                    return false;
                }

                return (types & JsonTypes.Number) != 0
                    || ((types & JsonTypes.Integer) != 0 && number.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0);
            case JsonTokenType.True or JsonTokenType.False:
                return (types & JsonTypes.Boolean) != 0;
            case JsonTokenType.Null:
                return (types & JsonTypes.Null) != 0;
            default:
                return false;
        }
    }

    private static bool Object(ref Utf8JsonReader reader, SchemaNode schema)
    {
        var names = schema.PropertyNames;
        ulong seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var index = -1;
            for (var i = 0; i < names.Length; i++)
            {
                if (reader.ValueTextEquals(names[i]))
                {
                    index = i;
                    break;
                }
            }

            // Undeclared (allowed or not) or repeated: JsonSchema.Net decides.
            var bit = 1UL << index;
            if (index < 0 || (seen & bit) != 0)
            {
                return false;
            }

            seen |= bit;
            if (!reader.Read() || !Value(ref reader, schema.PropertySchemas[index]))
            {
                return false;
            }
        }

        return reader.TokenType == JsonTokenType.EndObject && (seen & schema.RequiredMask) == schema.RequiredMask;
    }

    private static bool Array(ref Utf8JsonReader reader, SchemaNode items)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!Value(ref reader, items))
            {
                return false;
            }
        }

        return reader.TokenType == JsonTokenType.EndArray;
    }
}
