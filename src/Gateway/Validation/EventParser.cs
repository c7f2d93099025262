using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>
/// Builds the Json.NET tree NJsonSchema validates, refusing duplicate member names (the validator and
/// OCP®'s parser could read different values). Only events the fast path could not accept come here.
/// </summary>
internal static class EventParser
{
    /// <summary>Deeper documents are refused; Talkdesk events are four levels deep.</summary>
    internal const int MaxDepth = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly JsonLoadSettings LoadSettings = new()
    {
        DuplicatePropertyNameHandling = DuplicatePropertyNameHandling.Error,
        LineInfoHandling = LineInfoHandling.Ignore,
    };

    /// <summary>
    /// The event as a JSON object, or null with the reason in <paramref name="error"/>. The bytes must
    /// have passed <see cref="EventScanner.Scan"/>.
    /// </summary>
    public static JObject? Parse(BufferedBody body, out string? error)
    {
        error = null;
        using var text = new StreamReader(body.OpenRead(), StrictUtf8, detectEncodingFromByteOrderMarks: false);
        using var json = new JsonTextReader(text)
        {
            DateParseHandling = DateParseHandling.None,
            MaxDepth = MaxDepth,
        };
        try
        {
            return JObject.Load(json, LoadSettings);
        }
        catch (JsonReaderException ex)
        {
            error = ex.Message.StartsWith("Property with the name", StringComparison.Ordinal)
                ? "The body has a duplicate member name; each name may appear once per object."
                : "The body is not valid JSON: " + ex.Message;
            return null;
        }
        catch (Exception ex) when (ex is OverflowException or FormatException or ArgumentException)
        {
            // Json.NET gives up on some well-formed but extreme values (numbers beyond any range).
            error = "The body has a value that cannot be read as JSON: " + ex.GetType().Name + ".";
            return null;
        }
    }
}
