package httpapi

// messageRoutes registers the message endpoints.
func (s *Server) messageRoutes() {}
