using Microsoft.Net.Http.Headers;

namespace OcpTalkdesk.Gateway.Validation;

/// <summary>Accepts <c>application/json</c> or <c>application/*+json</c>, in UTF-8 if a charset is given.</summary>
internal static class JsonContentType
{
    public static bool IsAccepted(string? contentType)
    {
        // The common case, compared without parsing or allocating.
        if (string.Equals(contentType, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || !string.Equals(mediaType.Type.Value, "application", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var subType = mediaType.SubTypeWithoutSuffix;
        var isJson = string.Equals(mediaType.SubType.Value, "json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.Suffix.HasValue && string.Equals(mediaType.Suffix.Value, "json", StringComparison.OrdinalIgnoreCase) && subType.HasValue);
        if (!isJson)
        {
            return false;
        }

        var charset = HeaderUtilities.RemoveQuotes(mediaType.Charset);
        return !charset.HasValue
            || charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)
            || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);
    }
}
