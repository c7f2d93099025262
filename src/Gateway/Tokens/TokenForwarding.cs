namespace OcpTalkdesk.Gateway.Tokens;

/// <summary>
/// What the bearer transform hands to the forwarder's HTTP handler through the outgoing request's
/// options: which client's token was attached, the token, and the buffered body for a resend.
/// </summary>
internal sealed class TokenForwarding(string tokenClient, AccessToken token, ReadOnlyMemory<byte>? body)
{
    public static readonly HttpRequestOptionsKey<TokenForwarding> Key = new("OcpTalkdesk.TokenForwarding");

    public string TokenClient { get; } = tokenClient;

    public AccessToken Token { get; } = token;

    /// <summary>The exact event bytes, when the schema step buffered them; without them no resend is possible.</summary>
    public ReadOnlyMemory<byte>? Body { get; } = body;
}
