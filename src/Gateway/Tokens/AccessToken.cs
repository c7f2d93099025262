namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// A cached access token. The header value is built once when the token arrives, so attaching it
/// to a request builds no string.
/// </summary>
internal sealed class AccessToken(string value, DateTimeOffset expiresAt, DateTimeOffset refreshAt)
{
    public string Value { get; } = value;

    /// <summary><c>Bearer &lt;token&gt;</c>.</summary>
    public string HeaderValue { get; } = "Bearer " + value;

    /// <summary>From this instant the token is never sent.</summary>
    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>From this instant a background renewal is due.</summary>
    public DateTimeOffset RefreshAt { get; } = refreshAt;

    /// <summary>Never the token itself: this object may end up in a log or a debugger.</summary>
    public override string ToString() => $"access token expiring at {ExpiresAt:O}";
}
