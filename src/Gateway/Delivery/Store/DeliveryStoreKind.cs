namespace OcpTalkdesk.Gateway.Delivery;

/// <summary>Where parked events are kept.</summary>
public enum DeliveryStoreKind
{
    /// <summary>An embedded SQLite file: one replica.</summary>
    Sqlite,

    /// <summary>A shared PostgreSQL database: any number of replicas.</summary>
    Postgres,
}
