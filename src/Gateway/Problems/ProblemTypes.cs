namespace OcpTalkdesk.Gateway.Problems;

/// <summary>
/// The stable RFC 9457 <c>type</c> URIs of every problem the gateway itself answers with; README's
/// "Answers" table lists them. Upstream answers pass through untouched and carry none of these.
/// </summary>
public static class ProblemTypes
{
    private const string Prefix = "urn:ocp-gateway:problem:";

    /// <summary>400: not JSON, not one object, invalid UTF-8, duplicate member names.</summary>
    public const string MalformedBody = Prefix + "malformed-body";

    /// <summary>400: <c>event_type</c> missing, not a string or not configured.</summary>
    public const string UnknownEventType = Prefix + "unknown-event-type";

    /// <summary>400: the event breaks its schema.</summary>
    public const string SchemaViolation = Prefix + "schema-violation";

    /// <summary>500: the configured schema could not be evaluated for the event (never forwarded).</summary>
    public const string SchemaError = Prefix + "schema-error";

    /// <summary>413: the body is larger than <c>Gateway:MaxEventBytes</c>.</summary>
    public const string BodyTooLarge = Prefix + "body-too-large";

    /// <summary>415: the Content-Type is not JSON in UTF-8.</summary>
    public const string UnsupportedMediaType = Prefix + "unsupported-media-type";

    /// <summary>500: an unhandled failure in the gateway itself (a bug); the event was not forwarded.</summary>
    public const string GatewayError = Prefix + "gateway-error";

    /// <summary>502: OCP® could not be reached or broke off its answer.</summary>
    public const string UpstreamUnavailable = Prefix + "upstream-unavailable";

    /// <summary>504: OCP® did not answer in time.</summary>
    public const string UpstreamTimeout = Prefix + "upstream-timeout";

    /// <summary>503: no access token for OCP® could be obtained from the token endpoint.</summary>
    public const string CredentialsUnavailable = Prefix + "credentials-unavailable";

    /// <summary>503: store-and-forward could neither deliver the event nor keep it.</summary>
    public const string DeliveryStoreUnavailable = Prefix + "delivery-store-unavailable";

    /// <summary>503 with <c>Retry-After</c>: store-and-forward could not deliver the event and already had its bound of events waiting for the store.</summary>
    public const string DeliveryStoreBusy = Prefix + "delivery-store-busy";

    /// <summary>401: the caller sent no credentials or wrong ones.</summary>
    public const string Unauthenticated = Prefix + "unauthenticated";

    /// <summary>403: the caller is known but not allowed (scope, source address).</summary>
    public const string Forbidden = Prefix + "forbidden";

    /// <summary>400 or other 4xx: the request itself could not be read (aborted or malformed framing).</summary>
    public const string BadRequest = Prefix + "bad-request";
}
