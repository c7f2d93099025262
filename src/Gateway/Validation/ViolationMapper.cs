using System.Text;
using Newtonsoft.Json.Linq;
using NJsonSchema.Validation;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Turns NJsonSchema's errors into <see cref="SchemaViolation"/>s: a JSON Pointer built from the
/// token itself (NJsonSchema's own path is dotted and ambiguous for names with dots), the draft-07
/// keyword, and a sentence. Runs only for rejected events, so it favours clarity over speed.
/// </summary>
internal static class ViolationMapper
{
    public static List<SchemaViolation> Map(ICollection<ValidationError> errors)
    {
        var violations = new List<SchemaViolation>(errors.Count);
        foreach (var error in errors)
        {
            Add(error, violations);
        }

        return violations;
    }

    private static void Add(ValidationError error, List<SchemaViolation> violations)
    {
        if (error is ChildSchemaValidationError child)
        {
            foreach (var nested in child.Errors.Values)
            {
                foreach (var inner in nested)
                {
                    Add(inner, violations);
                }
            }

            // An array item or extra property that failed its sub-schema is fully described by the
            // nested errors; anyOf/oneOf/allOf keep their own entry after the detail.
            if (error.Kind is ValidationErrorKind.ArrayItemNotValid or ValidationErrorKind.AdditionalPropertiesNotValid
                && child.Errors.Count > 0)
            {
                return;
            }
        }

        var pointer = PointerOf(error);
        var keyword = KeywordOf(error.Kind);
        violations.Add(new SchemaViolation(pointer, keyword, MessageOf(error, pointer, keyword)));
    }

    private static string PointerOf(ValidationError error)
    {
        var pointer = error.Token is null ? string.Empty : ToPointer(error.Token);
        // For a missing or unexpected member NJsonSchema names the member in Property; point at it.
        if (error.Kind is ValidationErrorKind.PropertyRequired && error.Property is { } missing)
        {
            var tokenIsTheMember = error.Token?.Parent is JProperty p && p.Name == missing;
            return tokenIsTheMember ? pointer : pointer + "/" + Escape(missing);
        }

        return pointer;
    }

    /// <summary>The RFC 6901 pointer of a token inside its document.</summary>
    internal static string ToPointer(JToken token)
    {
        var segments = new Stack<string>();
        if (token is JProperty self)
        {
            segments.Push(Escape(self.Name));
        }

        for (var current = token; current.Parent is { } parent; current = parent)
        {
            if (parent is JProperty property)
            {
                segments.Push(Escape(property.Name));
            }
            else if (parent is JArray array && current is not JProperty)
            {
                segments.Push(array.IndexOf(current).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        var builder = new StringBuilder();
        foreach (var segment in segments)
        {
            builder.Append('/').Append(segment);
        }

        return builder.ToString();
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string KeywordOf(ValidationErrorKind kind) => kind switch
    {
        ValidationErrorKind.PropertyRequired => "required",
        ValidationErrorKind.NoAdditionalPropertiesAllowed or ValidationErrorKind.AdditionalPropertiesNotValid => "additionalProperties",
        ValidationErrorKind.StringExpected or ValidationErrorKind.NumberExpected or ValidationErrorKind.IntegerExpected
            or ValidationErrorKind.BooleanExpected or ValidationErrorKind.ObjectExpected or ValidationErrorKind.ArrayExpected
            or ValidationErrorKind.NullExpected or ValidationErrorKind.NoTypeValidates => "type",
        ValidationErrorKind.PatternMismatch => "pattern",
        ValidationErrorKind.StringTooShort => "minLength",
        ValidationErrorKind.StringTooLong => "maxLength",
        ValidationErrorKind.NumberTooSmall => "minimum",
        ValidationErrorKind.NumberTooBig or ValidationErrorKind.IntegerTooBig => "maximum",
        ValidationErrorKind.TooManyItems => "maxItems",
        ValidationErrorKind.TooFewItems => "minItems",
        ValidationErrorKind.ItemsNotUnique => "uniqueItems",
        ValidationErrorKind.NotAnyOf => "anyOf",
        ValidationErrorKind.NotAllOf => "allOf",
        ValidationErrorKind.NotOneOf => "oneOf",
        ValidationErrorKind.ExcludedSchemaValidates => "not",
        ValidationErrorKind.NumberNotMultipleOf or ValidationErrorKind.IntegerNotMultipleOf => "multipleOf",
        ValidationErrorKind.NotInEnumeration => "enum",
        ValidationErrorKind.TooManyItemsInTuple or ValidationErrorKind.ArrayItemNotValid => "items",
        ValidationErrorKind.AdditionalItemNotValid => "additionalItems",
        ValidationErrorKind.TooManyProperties => "maxProperties",
        ValidationErrorKind.TooFewProperties => "minProperties",
        ValidationErrorKind.DateTimeExpected or ValidationErrorKind.DateExpected or ValidationErrorKind.TimeExpected
            or ValidationErrorKind.TimeSpanExpected or ValidationErrorKind.UriExpected or ValidationErrorKind.IpV4Expected
            or ValidationErrorKind.IpV6Expected or ValidationErrorKind.GuidExpected or ValidationErrorKind.UuidExpected
            or ValidationErrorKind.EmailExpected or ValidationErrorKind.HostnameExpected or ValidationErrorKind.Base64Expected => "format",
        _ => "schema",
    };

    private static string MessageOf(ValidationError error, string pointer, string keyword)
    {
        var at = pointer.Length == 0 ? "the event" : $"'{pointer}'";
        return keyword switch
        {
            "required" => $"Required property '{error.Property}' is missing.",
            "additionalProperties" => $"Property {at} is not allowed by the schema.",
            "type" => $"Value at {at} has the wrong type: {Expected(error.Kind)} expected, found {Describe(error.Token)}.",
            _ => $"Value at {at} fails '{keyword}' ({error.Kind}).",
        };
    }

    private static string Expected(ValidationErrorKind kind) => kind switch
    {
        ValidationErrorKind.StringExpected => "string",
        ValidationErrorKind.NumberExpected => "number",
        ValidationErrorKind.IntegerExpected => "integer",
        ValidationErrorKind.BooleanExpected => "boolean",
        ValidationErrorKind.ObjectExpected => "object",
        ValidationErrorKind.ArrayExpected => "array",
        ValidationErrorKind.NullExpected => "null",
        _ => "another type",
    };

    private static string Describe(JToken? token) => token?.Type switch
    {
        JTokenType.Object => "object",
        JTokenType.Array => "array",
        JTokenType.Integer or JTokenType.Float => "number",
        JTokenType.String => "string",
        JTokenType.Boolean => "boolean",
        JTokenType.Null => "null",
        _ => "nothing",
    };
}
