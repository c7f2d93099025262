using System.Collections.Frozen;
using System.Text.Json;
using Json.Schema;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Turns JsonSchema.Net's hierarchical output into <see cref="SchemaViolation"/>s: the instance
/// location as the pointer, the failing keyword, and the library's own message. It descends only
/// into failing nodes and never into an <c>if</c> (whose failure only picks <c>else</c>), so a branch
/// that an <c>anyOf</c> or <c>if</c> did not need is never reported. Runs for rejected events only.
/// </summary>
internal static class ViolationCollector
{
    /// <summary>At most this many violations are listed; the rest are counted.</summary>
    public const int MaxListed = 50;

    // Keywords whose next path segment is a member name or index, not a keyword.
    private static readonly FrozenSet<string> NamedChildren = FrozenSet.ToFrozenSet(
        ["properties", "patternProperties", "definitions", "$defs", "dependencies", "dependentSchemas", "items", "prefixItems", "allOf", "anyOf", "oneOf"],
        StringComparer.Ordinal);

    public static IReadOnlyList<SchemaViolation> Collect(EvaluationResults results, out int omitted)
    {
        var violations = new List<SchemaViolation>();
        omitted = 0;
        Visit(results, violations, ref omitted);
        return violations;
    }

    private static void Visit(EvaluationResults node, List<SchemaViolation> violations, ref int omitted)
    {
        if (node.IsValid)
        {
            return;
        }

        if (node.Errors is { Count: > 0 } errors)
        {
            var pointer = node.InstanceLocation.ToString();
            foreach (var (key, message) in errors)
            {
                var keyword = key.Length > 0 ? key : KeywordOf(node.EvaluationPath.ToString());
                if (keyword == "required" && MissingNames(message) is { } missing)
                {
                    foreach (var member in missing)
                    {
                        Add(violations, ref omitted, new SchemaViolation(pointer + "/" + Escape(member), keyword,
                            $"Required property '{member}' is missing."));
                    }

                    continue;
                }

                Add(violations, ref omitted, new SchemaViolation(pointer, keyword, message));
            }
        }

        if (node.Details is { } details)
        {
            foreach (var detail in details)
            {
                if (!detail.EvaluationPath.ToString().EndsWith("/if", StringComparison.Ordinal))
                {
                    Visit(detail, violations, ref omitted);
                }
            }
        }
    }

    private static void Add(List<SchemaViolation> violations, ref int omitted, SchemaViolation violation)
    {
        if (violations.Count < MaxListed)
        {
            violations.Add(violation);
        }
        else
        {
            omitted++;
        }
    }

    /// <summary>
    /// The keyword a false subschema sits under, read from its evaluation path: the last segment that
    /// is a keyword and not a member name (<c>/properties/items</c> is a property called "items").
    /// </summary>
    internal static string KeywordOf(string evaluationPath)
    {
        var segments = evaluationPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = segments.Length - 1; i >= 0; i--)
        {
            var isName = i > 0 && NamedChildren.Contains(segments[i - 1]);
            if (!isName && !int.TryParse(segments[i], System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                return segments[i].Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            }
        }

        return "false";
    }

    /// <summary>The member names JsonSchema.Net lists in its <c>required</c> message (a JSON array), or null.</summary>
    private static string[]? MissingNames(string message)
    {
        var start = message.IndexOf('[', StringComparison.Ordinal);
        var end = message.LastIndexOf(']');
        if (start < 0 || end <= start)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(message.AsSpan(start, end - start + 1), ValidationJsonContext.Default.StringArray);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);
}
