namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>What reading a stored body found (<see cref="BodyProtector.TryUnprotect"/>).</summary>
internal enum UnprotectResult
{
    /// <summary>The body, decrypted (or stored in plaintext before encryption).</summary>
    Ok,

    /// <summary>The row names a key this process does not hold: kept, not delivered, reported.</summary>
    MissingKey,

    /// <summary>The bytes do not decrypt under the row's identity: changed, or moved from another row.</summary>
    Tampered,
}
