namespace OcpTalkdesk.Gateway.Validation;

/// <summary>A schema file that cannot be used; the message names the file and what is wrong with it.</summary>
public sealed class SchemaLoadException(string message, Exception? inner = null) : Exception(message, inner);
